import { maskIdNumber, maskMobile, maskName } from '../domain/identity/index.js';
import { AppError } from '../errors.js';
import type { ProviderFlowResult } from '../providers/provider.js';
import * as flows from '../store/flows.js';
import * as persons from '../store/persons.js';
import type { FlowRow, FlowStatus } from '../store/schema.js';
import type { ServiceDeps } from './deps.js';
import { type FinalStatus, queueFlowNotification } from './notifications.js';
import { formatBeijing } from './time.js';

export type PublicStatus = Exclude<FlowStatus, 'CREATING'>;

/** A pending flow past its expiry reads EXPIRED before the sweep has stored it so. */
export function effectiveStatus(flow: FlowRow, now: number): PublicStatus {
  if (flow.status === 'CREATING') return 'PENDING';
  if (flow.status === 'PENDING' && flow.expire_at !== null && flow.expire_at <= now) return 'EXPIRED';
  return flow.status;
}

/** Our flow ids are UUIDs; anything else cannot name a flow (and PostgreSQL refuses NUL bytes). */
const FLOW_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export async function getFlowForClient(deps: ServiceDeps, clientId: string, flowId: string) {
  if (!FLOW_ID.test(flowId)) throw new AppError('not_found');
  const flow = await flows.findFlowById(deps.store.db, flowId);
  // Another client's flow is indistinguishable from a missing one.
  if (!flow || flow.client_id !== clientId || flow.status === 'CREATING') throw new AppError('not_found');
  return describeFlow(deps, flow);
}

export async function describeFlow(deps: ServiceDeps, flow: FlowRow) {
  const person = await persons.findPersonById(deps.store.db, flow.person_id);
  const status = effectiveStatus(flow, deps.now());
  return {
    flowId: flow.id,
    status,
    ...(flow.account_id && status === 'SUCCESS' ? { esignAccountId: flow.account_id } : {}),
    ...(flow.fail_reason ? { failReason: flow.fail_reason } : {}),
    createdAt: formatBeijing(flow.created_at),
    expire: flow.expire_at === null ? '' : formatBeijing(flow.expire_at),
    ...(flow.opened_at !== null ? { openedAt: formatBeijing(flow.opened_at) } : {}),
    ...(flow.completed_at !== null ? { completedAt: formatBeijing(flow.completed_at) } : {}),
    person: {
      name: maskName(deps.cipher.decrypt(flow.name_enc)),
      idNumber: person ? maskIdNumber(deps.cipher.decrypt(person.id_number_enc)) : '',
      mobile: maskMobile(deps.cipher.decrypt(flow.mobile_enc)),
    },
  };
}

export type FlowOutcome = { success: true; accountId: string } | { success: false; reason: string };

/**
 * The one way a provider result reaches a flow — sandbox page, CLI, e签宝 callback and
 * reconciliation all call this. Idempotent: a result for a flow that is already final changes
 * nothing and reports `changed: false`. A change queues the client's notification in the same
 * transaction.
 */
export async function applyFlowResult(
  deps: ServiceDeps,
  flowId: string,
  outcome: FlowOutcome,
): Promise<{ changed: boolean; flow: FlowRow }> {
  const now = deps.now();
  const to: FinalStatus = outcome.success ? 'SUCCESS' : 'FAILED';
  const result = await deps.store.db.transaction().execute(async (trx) => {
    const flow = await flows.findFlowById(trx, flowId);
    if (!flow || flow.status === 'CREATING') throw new AppError('not_found', { detail: `no flow ${flowId}` });
    if (outcome.success) {
      // The provider verified the person even if our flow was superseded or expired meanwhile:
      // record that truth on the person so the next request answers "verified".
      const nameIndex = deps.cipher.blindIndex('name', deps.cipher.decrypt(flow.name_enc));
      await persons.markPersonVerified(trx, flow.person_id, {
        accountId: outcome.accountId,
        nameIndex,
        at: now,
      });
    }
    const set = outcome.success
      ? { account_id: outcome.accountId, completed_at: now, updated_at: now }
      : { fail_reason: outcome.reason.slice(0, 200), completed_at: now, updated_at: now };
    const changed = await flows.transitionFlow(trx, flow.id, ['PENDING'], to, set);
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
    const changed = await flows.transitionFlow(trx, flowId, ['PENDING'], 'EXPIRED', { updated_at: now });
    const flow = changed ? await flows.findFlowById(trx, flowId) : undefined;
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

/** A pending flow past its expiry that the provider never answered about is expired after this. */
export const EXPIRE_WITHOUT_ANSWER_MS = 60 * 60_000;
/** A flow claimed for a provider query is not claimed again for this long, unless released sooner. */
export const RECONCILE_LEASE_MS = 5 * 60_000;
/** Flows that are not opened and not near expiry are asked about this many intervals apart. */
const IDLE_CHECK_INTERVALS = 5;

export type SettleOutcome = 'success' | 'failed' | 'expired' | 'unchanged' | 'opened' | 'pending' | 'error';

/**
 * Asks the provider where one pending flow stands and applies the answer through
 * `applyFlowResult`, exactly as a callback would. A flow past its expiry without a final answer
 * becomes EXPIRED — at once when the provider says "not final", and after
 * EXPIRE_WITHOUT_ANSWER_MS when the provider cannot be asked. Otherwise the flow is scheduled for
 * its next check: opened or nearly expired flows on the next reconciliation tick, others later.
 */
export async function settleFlow(deps: ServiceDeps, flow: FlowRow): Promise<SettleOutcome> {
  let answer: ProviderFlowResult | null = null;
  let failed = false;
  // A flow of another provider (the deployment switched) cannot be asked; only expiry applies.
  if (flow.provider === deps.provider.name && flow.provider_flow_id) {
    try {
      answer = await deps.provider.queryFlow(flow.provider_flow_id);
    } catch (err) {
      failed = true;
      deps.logger.warn(
        {
          component: 'reconcile',
          flowId: flow.id,
          kind: err instanceof AppError ? err.kind : 'internal',
          err,
        },
        'provider query failed',
      );
    }
  }
  if (answer?.status === 'FAILED') {
    const r = await applyFlowResult(deps, flow.id, {
      success: false,
      reason: answer.failReason ?? '认证未通过',
    });
    return r.changed ? 'failed' : 'unchanged';
  }
  if (answer?.status === 'SUCCESS') {
    const accountId = answer.accountId ?? flow.account_id;
    if (accountId) {
      const r = await applyFlowResult(deps, flow.id, { success: true, accountId });
      return r.changed ? 'success' : 'unchanged';
    }
    // A success we cannot attribute to an account is not recorded; the next check may carry it.
    deps.logger.warn(
      { component: 'reconcile', flowId: flow.id },
      'provider reported success without an account',
    );
  }

  const now = deps.now();
  const opened = flow.opened_at !== null || answer?.status === 'OPENED';
  if (answer?.status === 'OPENED' && flow.opened_at === null)
    await flows.markOpened(deps.store.db, flow.id, now);
  if (flow.expire_at !== null && flow.expire_at <= now) {
    if (!failed || now >= flow.expire_at + EXPIRE_WITHOUT_ANSWER_MS) {
      return (await expireFlow(deps, flow.id)) ? 'expired' : 'unchanged';
    }
  }
  const interval = deps.config.reconcileIntervalMs;
  const soon = flow.expire_at !== null && flow.expire_at <= now + 2 * interval;
  // Half an interval: due again by the next tick, whichever process runs it.
  const next = opened || soon || failed ? now + interval / 2 : now + IDLE_CHECK_INTERVALS * interval;
  await flows.setReconcileDue(deps.store.db, flow.id, Math.round(next));
  return failed ? 'error' : opened ? 'opened' : 'pending';
}

/**
 * Settles pending flows past their expiry (asking the provider first, so a result that came in at
 * the last moment is not lost) and drops reservations of dead requests. Flows are claimed, so
 * several processes never settle the same one. Returns how many flows became EXPIRED.
 */
export async function expireDueFlows(
  deps: ServiceDeps,
  staleReservationMs: number,
  signal?: AbortSignal,
): Promise<number> {
  await flows.deleteStaleReservations(deps.store.db, deps.now() - staleReservationMs);
  const batch = 100;
  let expired = 0;
  while (!signal?.aborted) {
    const now = deps.now();
    const due = await flows.claimFlowsForReconcile(deps.store.db, {
      now,
      soon: now,
      leaseUntil: now + RECONCILE_LEASE_MS,
      limit: batch,
      pastExpiryOnly: true,
      skipLocked: deps.store.dialect === 'postgres',
    });
    for (const flow of due) {
      // Stopping: hand the claim back so another process settles the flow at once.
      if (signal?.aborted) await flows.setReconcileDue(deps.store.db, flow.id, deps.now());
      else if ((await settleFlow(deps, flow)) === 'expired') expired++;
    }
    if (due.length < batch) break;
  }
  return expired;
}

/** The page the person's browser returns to after the face check. */
export async function getResultPage(deps: ServiceDeps, flowId: string): Promise<PublicStatus | null> {
  if (!FLOW_ID.test(flowId)) return null;
  const flow = await flows.findFlowById(deps.store.db, flowId);
  if (!flow || flow.status === 'CREATING') return null;
  return effectiveStatus(flow, deps.now());
}
