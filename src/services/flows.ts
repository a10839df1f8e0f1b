import { maskIdNumber, maskMobile, maskName } from '../domain/identity/index.js';
import { AppError } from '../errors.js';
import * as flows from '../store/flows.js';
import * as persons from '../store/persons.js';
import type { FlowRow, FlowStatus } from '../store/schema.js';
import type { ServiceDeps } from './deps.js';
import { formatBeijing } from './time.js';

export type PublicStatus = Exclude<FlowStatus, 'CREATING'>;

/** A pending flow past its expiry reads EXPIRED before the sweep has stored it so. */
export function effectiveStatus(flow: FlowRow, now: number): PublicStatus {
  if (flow.status === 'CREATING') return 'PENDING';
  if (flow.status === 'PENDING' && flow.expire_at !== null && flow.expire_at <= now) return 'EXPIRED';
  return flow.status;
}

export async function getFlowForClient(deps: ServiceDeps, clientId: string, flowId: string) {
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
 * nothing and reports `changed: false`.
 */
export async function applyFlowResult(
  deps: ServiceDeps,
  flowId: string,
  outcome: FlowOutcome,
): Promise<{ changed: boolean; flow: FlowRow }> {
  const now = deps.now();
  return deps.store.db.transaction().execute(async (trx) => {
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
    const to: FlowStatus = outcome.success ? 'SUCCESS' : 'FAILED';
    const set = outcome.success
      ? { account_id: outcome.accountId, completed_at: now, updated_at: now }
      : { fail_reason: outcome.reason.slice(0, 200), completed_at: now, updated_at: now };
    const changed = await flows.transitionFlow(trx, flow.id, ['PENDING'], to, set);
    return { changed, flow: changed ? { ...flow, ...set, status: to } : flow };
  });
}

/** Stores EXPIRED for pending flows past their expiry and drops reservations of dead requests. */
export async function expireDueFlows(deps: ServiceDeps, staleReservationMs: number): Promise<number> {
  const now = deps.now();
  await flows.deleteStaleReservations(deps.store.db, now - staleReservationMs);
  let expired = 0;
  for (;;) {
    const due = await flows.findExpiredPending(deps.store.db, now, 200);
    for (const flow of due) {
      if (await flows.transitionFlow(deps.store.db, flow.id, ['PENDING'], 'EXPIRED', { updated_at: now }))
        expired++;
    }
    if (due.length < 200) return expired;
  }
}

/** The page the person's browser returns to after the face check. */
export async function getResultPage(deps: ServiceDeps, flowId: string): Promise<PublicStatus | null> {
  const flow = await flows.findFlowById(deps.store.db, flowId);
  if (!flow || flow.status === 'CREATING') return null;
  return effectiveStatus(flow, deps.now());
}
