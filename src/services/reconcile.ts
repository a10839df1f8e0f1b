import * as flows from '../store/flows.js';
import type { FlowRow } from '../store/schema.js';
import type { ServiceDeps } from './deps.js';
import { RECONCILE_LEASE_MS, type SettleOutcome, settleFlow } from './flows.js';

/** Flows claimed per round trip to the database. */
const BATCH = 50;
/** Provider queries in flight at once: e签宝 allows 50 requests/s per app, shared with face starts. */
const PARALLEL = 4;
/** A tick stops after this many flows; the rest are still due on the next tick. */
const MAX_PER_TICK = 500;

export type ReconcileSummary = Partial<Record<SettleOutcome, number>>;

/**
 * One reconciliation tick. e签宝 pushes only successes by default and retries a callback just
 * twice, so the provider is asked about pending flows: opened ones and those near or past their
 * expiry first, then the rest at a slower pace (see `settleFlow`). Results go through
 * `applyFlowResult`, like callbacks, and flows are claimed so that with several processes each
 * flow is asked about by one of them.
 */
export async function reconcileFlows(deps: ServiceDeps, signal?: AbortSignal): Promise<ReconcileSummary> {
  const summary: ReconcileSummary = {};
  const interval = deps.config.reconcileIntervalMs;
  let seen = 0;
  while (!signal?.aborted && seen < MAX_PER_TICK) {
    const now = deps.now();
    const claimed = await flows.claimFlowsForReconcile(deps.store.db, {
      now,
      soon: now + 2 * interval,
      leaseUntil: now + RECONCILE_LEASE_MS,
      limit: BATCH,
      skipLocked: deps.store.dialect === 'postgres',
    });
    await forEachLimited(claimed, PARALLEL, async (flow) => {
      const outcome = await settleOne(deps, flow, signal);
      if (outcome === null) return;
      summary[outcome] = (summary[outcome] ?? 0) + 1;
      deps.metrics.reconcileChecks.inc({ result: outcome });
    });
    seen += claimed.length;
    if (claimed.length < BATCH) break;
  }
  return summary;
}

async function settleOne(
  deps: ServiceDeps,
  flow: FlowRow,
  signal?: AbortSignal,
): Promise<SettleOutcome | null> {
  if (signal?.aborted) {
    // Stopping: hand the claim back so another process asks at once rather than after the lease.
    await flows.setReconcileDue(deps.store.db, flow.id, deps.now());
    return null;
  }
  try {
    return await settleFlow(deps, flow);
  } catch (err) {
    deps.logger.error({ component: 'reconcile', flowId: flow.id, err }, 'reconciling a flow failed');
    return 'error';
  }
}

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
