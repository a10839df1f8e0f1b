/**
 * Keeping pending flows honest when results do not arrive by themselves: asking the provider
 * (reconciliation), the expiry sweep, and clearing reservations of requests that died mid-call.
 * Flows are claimed with a lease, so with several processes each flow is handled by one of them.
 */
import { AppError } from '../../errors.js';
import type { ProviderFlowResult } from '../../providers/provider.js';
import * as flowStore from '../../store/flow-store.js';
import type { FlowRow } from '../../store/schema.js';
import { drainClaims } from '../claims.js';
import type { ServiceDeps } from '../deps.js';
import { recordProviderConsent } from '../lifecycle/consent.js';
import { applyFlowResult, expireFlow } from './results.js';

/** A reservation older than this belongs to a request that died mid-call; it may be taken over. */
export const STALE_RESERVATION_MS = 60_000;
/** A pending flow past its expiry that the provider never answered about is expired after this. */
export const EXPIRE_WITHOUT_ANSWER_MS = 60 * 60_000;
/** A flow claimed for a provider query is not claimed again for this long, unless handed back sooner. */
export const RECONCILE_LEASE_MS = 5 * 60_000;
/** Flows that are not opened and not near expiry are asked about this many intervals apart. */
const IDLE_CHECK_INTERVALS = 5;
/** Flows claimed per round trip to the database. */
const BATCH = 50;
/** Provider queries in flight at once: e签宝 allows 50 requests/s per app, shared with face starts. */
const PARALLEL = 4;
/** A tick stops after this many flows; the rest are still due on the next tick. */
const MAX_PER_TICK = 500;
/** Flows past expiry claimed per round trip by the sweep. */
const SWEEP_BATCH = 100;

export type SettleOutcome = 'success' | 'failed' | 'expired' | 'unchanged' | 'opened' | 'pending' | 'error';
export type ReconcileSummary = Partial<Record<SettleOutcome, number>>;

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
  if (answer?.status === 'OPENED' && flow.opened_at === null) {
    await flowStore.markOpened(deps.store.db, flow.id, now);
    await recordProviderConsent(deps, flow.id);
  }
  if (flow.expire_at !== null && flow.expire_at <= now) {
    if (!failed || now >= flow.expire_at + EXPIRE_WITHOUT_ANSWER_MS) {
      return (await expireFlow(deps, flow.id)) ? 'expired' : 'unchanged';
    }
  }
  const interval = deps.config.reconcileIntervalMs;
  const soon = flow.expire_at !== null && flow.expire_at <= now + 2 * interval;
  // Half an interval: due again by the next tick, whichever process runs it.
  const next = opened || soon || failed ? now + interval / 2 : now + IDLE_CHECK_INTERVALS * interval;
  await flowStore.setReconcileDue(deps.store.db, flow.id, Math.round(next));
  return failed ? 'error' : opened ? 'opened' : 'pending';
}

/** Stopping: hand the claim back so another process settles the flow at once, not after the lease. */
const handBack = (deps: ServiceDeps) => (flow: FlowRow) =>
  flowStore.setReconcileDue(deps.store.db, flow.id, deps.now());

const logFailure = (deps: ServiceDeps) => (flow: FlowRow, err: unknown) =>
  deps.logger.error({ component: 'reconcile', flowId: flow.id, err }, 'reconciling a flow failed');

/**
 * One reconciliation tick. e签宝 pushes only successes by default and retries a callback just
 * twice, so the provider is asked about pending flows: opened ones and those near or past their
 * expiry first, then the rest at a slower pace (see `settleFlow`).
 */
export async function reconcileFlows(deps: ServiceDeps, signal?: AbortSignal): Promise<ReconcileSummary> {
  const summary: ReconcileSummary = {};
  const interval = deps.config.reconcileIntervalMs;
  await drainClaims({
    claim: () => {
      const now = deps.now();
      return flowStore.claimFlowsForReconcile(deps.store.db, {
        now,
        soon: now + 2 * interval,
        leaseUntil: now + RECONCILE_LEASE_MS,
        limit: BATCH,
        skipLocked: deps.store.dialect === 'postgres',
      });
    },
    batch: BATCH,
    parallel: PARALLEL,
    max: MAX_PER_TICK,
    signal,
    work: async (flow) => {
      let outcome: SettleOutcome;
      try {
        outcome = await settleFlow(deps, flow);
      } catch (err) {
        logFailure(deps)(flow, err);
        outcome = 'error';
      }
      summary[outcome] = (summary[outcome] ?? 0) + 1;
      deps.metrics.reconcileChecks.inc({ result: outcome });
    },
    handBack: handBack(deps),
    onError: logFailure(deps),
  });
  return summary;
}

/**
 * Settles pending flows past their expiry (asking the provider first, so a result that came in at
 * the last moment is not lost) and drops reservations of dead requests. Returns how many flows
 * became EXPIRED.
 */
export async function expireDueFlows(deps: ServiceDeps, signal?: AbortSignal): Promise<number> {
  await flowStore.deleteStaleReservations(deps.store.db, deps.now() - STALE_RESERVATION_MS);
  let expired = 0;
  await drainClaims({
    claim: () => {
      const now = deps.now();
      return flowStore.claimFlowsForReconcile(deps.store.db, {
        now,
        soon: now,
        leaseUntil: now + RECONCILE_LEASE_MS,
        limit: SWEEP_BATCH,
        pastExpiryOnly: true,
        skipLocked: deps.store.dialect === 'postgres',
      });
    },
    batch: SWEEP_BATCH,
    signal,
    work: async (flow) => {
      if ((await settleFlow(deps, flow)) === 'expired') expired++;
    },
    handBack: handBack(deps),
    onError: logFailure(deps),
  });
  return expired;
}
