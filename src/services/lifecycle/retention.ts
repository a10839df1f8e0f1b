import { flushErased } from '../../store/db.js';
import * as lifecycleStore from '../../store/lifecycle-store.js';
import { type AuditActor, pruneAudit, recordAudit } from '../audit.js';
import type { ServiceDeps } from '../deps.js';
import { STALE_RESERVATION_MS } from '../flows/reconcile.js';

type Deps = Pick<ServiceDeps, 'store' | 'cipher' | 'now' | 'config' | 'logger'>;

const DAY_MS = 86_400_000;
/** Rows per statement: one short UPDATE each, so the API never waits long behind a batch. */
export const RETENTION_BATCH = 50;

export interface RetentionSummary {
  dryRun: boolean;
  erasedFlows: number;
  erasedPersons: number;
  prunedAuditEvents: number;
}

/**
 * Erases the personal fields of flows final for longer than RETENTION_DAYS, then the name and ID
 * number of persons no flow needs any more, then audit events past AUDIT_RETENTION_DAYS. Each batch
 * is one UPDATE of whole rows, so a crash leaves every row erased or untouched and the next run
 * goes on where this one stopped; several processes may run it at once (PostgreSQL: they skip each
 * other's rows). Persons get a minute's grace, the time a new request needs from creating the
 * person to reserving its flow.
 */
export async function runRetention(
  deps: Deps,
  opts: { dryRun?: boolean; actor: AuditActor; signal?: AbortSignal; auditEmptyRuns?: boolean },
): Promise<RetentionSummary> {
  const now = deps.now();
  const finalBefore = now - deps.config.lifecycle.retentionDays * DAY_MS;
  const createdBefore = now - STALE_RESERVATION_MS;
  if (opts.dryRun) {
    const c = await lifecycleStore.countPastRetention(deps.store.db, { finalBefore, createdBefore });
    return { dryRun: true, erasedFlows: c.flows, erasedPersons: c.persons, prunedAuditEvents: 0 };
  }
  const skipLocked = deps.store.dialect === 'postgres';
  const drain = async (batch: () => Promise<number>) => {
    let total = 0;
    while (!opts.signal?.aborted) {
      const n = await batch();
      total += n;
      if (n < RETENTION_BATCH) break;
    }
    return total;
  };
  const erasedFlows = await drain(() =>
    lifecycleStore.eraseFlowsPastRetention(deps.store.db, {
      finalBefore,
      now: deps.now(),
      limit: RETENTION_BATCH,
      skipLocked,
    }),
  );
  const erasedPersons = await drain(() =>
    lifecycleStore.erasePersonsUnused(deps.store.db, {
      createdBefore,
      now: deps.now(),
      limit: RETENTION_BATCH,
      skipLocked,
    }),
  );
  const prunedAuditEvents = opts.signal?.aborted
    ? 0
    : await pruneAudit(deps, now - deps.config.lifecycle.auditRetentionDays * DAY_MS, opts.actor);
  const summary = { dryRun: false, erasedFlows, erasedPersons, prunedAuditEvents };
  if (erasedFlows + erasedPersons > 0 || opts.auditEmptyRuns) {
    await recordAudit(deps, {
      actor: opts.actor,
      action: 'retention.run',
      detail: { erasedFlows, erasedPersons, prunedAuditEvents },
    });
  }
  if (erasedFlows + erasedPersons > 0 && !(await flushErased(deps.store))) {
    deps.logger.warn('erased values wait in the SQLite WAL until the next checkpoint');
  }
  return summary;
}
