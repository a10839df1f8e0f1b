/**
 * The one door through which a flow reaches a final status. Sandbox page, CLI, provider callbacks,
 * reconciliation and the expiry sweep all come here, and the client's notification is queued in
 * the same transaction as the status change.
 */
import { AppError } from '../../errors.js';
import * as flowStore from '../../store/flow-store.js';
import * as personStore from '../../store/person-store.js';
import type { FlowRow } from '../../store/schema.js';
import type { ServiceDeps } from '../deps.js';
import { type FinalStatus, queueFlowNotification } from '../notifications/outbox.js';

export type FlowOutcome = { success: true; accountId: string } | { success: false; reason: string };

/**
 * Applies a provider result. Idempotent: a result for a flow that is already final changes
 * nothing and reports `changed: false`.
 */
export async function applyFlowResult(
  deps: ServiceDeps,
  flowId: string,
  outcome: FlowOutcome,
): Promise<{ changed: boolean; flow: FlowRow }> {
  const now = deps.now();
  const to: FinalStatus = outcome.success ? 'SUCCESS' : 'FAILED';
  const result = await deps.store.db.transaction().execute(async (trx) => {
    const flow = await flowStore.findFlowById(trx, flowId);
    if (!flow || flow.status === 'CREATING') throw new AppError('not_found', { detail: `no flow ${flowId}` });
    // An erased flow ended when it was erased; its name is gone, so nothing can be recorded.
    if (flow.erased_at !== null) return { changed: false, queued: false, flow };
    if (outcome.success) {
      // The provider verified the person even if our flow was superseded or expired meanwhile:
      // record that truth on the person so the next request answers "verified".
      const nameKeyId = deps.cipher.blindKeyId;
      await personStore.markPersonVerified(trx, flow.person_id, {
        accountId: outcome.accountId,
        nameIndex: deps.cipher.blindIndex('name', deps.cipher.decrypt(flow.name_enc), nameKeyId),
        nameKeyId,
        at: now,
      });
    }
    const set = outcome.success
      ? { account_id: outcome.accountId, completed_at: now, updated_at: now }
      : { fail_reason: outcome.reason.slice(0, 200), completed_at: now, updated_at: now };
    const changed = await flowStore.transitionFlow(trx, flow.id, ['PENDING'], to, set);
    if (!changed) return { changed, queued: false, flow };
    const updated: FlowRow = { ...flow, ...set, status: to };
    const queued = await queueFlowNotification(deps, trx, updated, to, now);
    return { changed, queued, flow: updated };
  });
  if (result.changed) afterFinal(deps, to, result.queued);
  return { changed: result.changed, flow: result.flow };
}

/** Stores EXPIRED for a pending flow and queues its notification; false when it was no longer pending. */
export async function expireFlow(deps: ServiceDeps, flowId: string): Promise<boolean> {
  const now = deps.now();
  const result = await deps.store.db.transaction().execute(async (trx) => {
    const changed = await flowStore.transitionFlow(trx, flowId, ['PENDING'], 'EXPIRED', { updated_at: now });
    const flow = changed ? await flowStore.findFlowById(trx, flowId) : undefined;
    const queued = flow ? await queueFlowNotification(deps, trx, flow, 'EXPIRED', now) : false;
    return { changed, queued };
  });
  if (result.changed) afterFinal(deps, 'EXPIRED', result.queued);
  return result.changed;
}

/** After the commit, never inside the transaction: the dispatcher must find the row once woken. */
function afterFinal(deps: ServiceDeps, status: FinalStatus, queued: boolean): void {
  deps.metrics.flowResults.inc({ status });
  if (queued) deps.dispatcherWakeup.notify();
}
