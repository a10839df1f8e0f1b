import { type ExpressionBuilder, sql } from 'kysely';
import type { Executor } from './db.js';
import type { Database, DeliveriesTable, DeliveryAttemptRow, DeliveryRow, DeliveryStatus } from './schema.js';
import { addStats, hourOf, inTransaction, type StatDelta } from './stats-store.js';

const deliveryStat = (at: number, clientId: string, key: string): StatDelta => ({
  hour: hourOf(at),
  clientId,
  key,
  n: 1,
});

export async function insertDelivery(ex: Executor, row: DeliveriesTable): Promise<void> {
  await inTransaction(ex, async (trx) => {
    await trx.insertInto('deliveries').values(row).execute();
    await addStats(trx, [
      deliveryStat(row.created_at, row.client_id, 'dl.queued'),
      ...(row.status === 'DEAD' ? [deliveryStat(row.created_at, row.client_id, 'dl.dead')] : []),
    ]);
  });
}

export interface DeliveryClaim {
  now: number;
  leaseUntil: number;
  claimId: string;
  limit: number;
  /** PostgreSQL: skip rows another dispatcher is taking right now instead of waiting for it. */
  skipLocked: boolean;
}

/**
 * Claims due pending deliveries for one dispatcher. One atomic UPDATE sets the lease and the
 * claim id, so a delivery goes to one dispatcher however many processes ask at once; the
 * condition is repeated outside the sub-select so that PostgreSQL re-checks it on a row another
 * transaction just claimed. A dispatcher that dies loses its claims when the lease runs out.
 */
export function claimDueDeliveries(ex: Executor, c: DeliveryClaim): Promise<DeliveryRow[]> {
  const due = (eb: ExpressionBuilder<Database, 'deliveries'>) =>
    eb.and([
      eb('status', '=', 'PENDING'),
      eb('next_attempt_at', '<=', c.now),
      eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', c.now)]),
    ]);
  let pick = ex.selectFrom('deliveries').select('id').where(due).orderBy('next_attempt_at').limit(c.limit);
  if (c.skipLocked) pick = pick.forUpdate().skipLocked();
  return ex
    .updateTable('deliveries')
    .set({ claimed_until: c.leaseUntil, claim_id: c.claimId })
    .where('id', 'in', pick)
    .where(due)
    .returningAll()
    .execute();
}

export interface AttemptRecord {
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  at: number;
  httpStatus: number | null;
  error: string | null;
  /** How long the request took; null when none was made. */
  latencyMs: number | null;
}

const OUTCOME_KEY: Record<DeliveryStatus, string> = {
  DELIVERED: 'dl.delivered',
  PENDING: 'dl.retrying',
  DEAD: 'dl.dead',
};

/**
 * Records an attempt's outcome (on the delivery, in its attempt history and in the hourly
 * counters) and releases the claim; false when the claim was lost meanwhile.
 */
export function recordAttempt(ex: Executor, id: string, claimId: string, a: AttemptRecord): Promise<boolean> {
  return inTransaction(ex, async (trx) => {
    const row = await trx
      .updateTable('deliveries')
      .set({
        status: a.status,
        attempts: a.attempts,
        next_attempt_at: a.nextAttemptAt,
        last_attempt_at: a.at,
        last_status: a.httpStatus,
        last_error: a.error,
        delivered_at: a.status === 'DELIVERED' ? a.at : null,
        claimed_until: null,
        claim_id: null,
      })
      .where('id', '=', id)
      .where('claim_id', '=', claimId)
      .returning('client_id')
      .executeTakeFirst();
    if (!row) return false;
    await trx
      .insertInto('delivery_attempts')
      .values({
        id: `${id}.${a.attempts}.${a.at}`,
        delivery_id: id,
        attempt: a.attempts,
        at: a.at,
        http_status: a.httpStatus,
        error: a.error,
        latency_ms: a.latencyMs,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    await addStats(trx, [deliveryStat(a.at, row.client_id, OUTCOME_KEY[a.status])]);
    return true;
  });
}

export function listAttempts(ex: Executor, deliveryId: string): Promise<DeliveryAttemptRow[]> {
  return ex
    .selectFrom('delivery_attempts')
    .selectAll()
    .where('delivery_id', '=', deliveryId)
    .orderBy('at')
    .execute();
}

/** Gives a claimed delivery back untouched (the process is stopping mid-attempt). */
export async function releaseClaim(ex: Executor, id: string, claimId: string): Promise<void> {
  await ex
    .updateTable('deliveries')
    .set({ claimed_until: null, claim_id: null })
    .where('id', '=', id)
    .where('claim_id', '=', claimId)
    .execute();
}

export function findDelivery(ex: Executor, id: string): Promise<DeliveryRow | undefined> {
  return ex.selectFrom('deliveries').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findDeliveryByFlow(ex: Executor, flowId: string): Promise<DeliveryRow | undefined> {
  return ex.selectFrom('deliveries').selectAll().where('flow_id', '=', flowId).executeTakeFirst();
}

export interface DeliveryFilter {
  /** Dead deliveries and pending ones whose last attempt failed. */
  failedOnly?: boolean;
  clientId?: string;
  limit: number;
}

export function listDeliveries(ex: Executor, f: DeliveryFilter) {
  let q = ex
    .selectFrom('deliveries')
    .innerJoin('clients', 'clients.id', 'deliveries.client_id')
    .selectAll('deliveries')
    .select('clients.name as client_name');
  if (f.clientId) q = q.where('deliveries.client_id', '=', f.clientId);
  if (f.failedOnly) {
    q = q.where((eb) =>
      eb.or([
        eb('deliveries.status', '=', 'DEAD'),
        eb.and([eb('deliveries.status', '=', 'PENDING'), eb('deliveries.attempts', '>', 0)]),
      ]),
    );
  }
  return q.orderBy('deliveries.created_at', 'desc').orderBy('deliveries.id').limit(f.limit).execute();
}

export interface DeliveryPage {
  /** `failing`: pending after a failed attempt; `dead`: given up; undefined: both. */
  status?: 'failing' | 'dead';
  clientId?: string;
  before?: { createdAt: number; id: string };
  limit: number;
}

/** Failing and dead deliveries, newest first, with their client's name. */
export function listFailedDeliveries(ex: Executor, f: DeliveryPage) {
  let q = ex
    .selectFrom('deliveries')
    .innerJoin('clients', 'clients.id', 'deliveries.client_id')
    .selectAll('deliveries')
    .select('clients.name as client_name');
  const failing = (eb: ExpressionBuilder<Database, 'deliveries'>) =>
    eb.and([eb('deliveries.status', '=', 'PENDING'), eb('deliveries.attempts', '>', 0)]);
  if (f.status === 'dead') q = q.where('deliveries.status', '=', 'DEAD');
  else if (f.status === 'failing') q = q.where(failing);
  else q = q.where((eb) => eb.or([eb('deliveries.status', '=', 'DEAD'), failing(eb)]));
  if (f.clientId) q = q.where('deliveries.client_id', '=', f.clientId);
  const before = f.before;
  if (before) {
    q = q.where((eb) =>
      eb.or([
        eb('deliveries.created_at', '<', before.createdAt),
        eb.and([eb('deliveries.created_at', '=', before.createdAt), eb('deliveries.id', '<', before.id)]),
      ]),
    );
  }
  return q.orderBy('deliveries.created_at', 'desc').orderBy('deliveries.id', 'desc').limit(f.limit).execute();
}

export function findDeliveryWithClient(ex: Executor, id: string) {
  return ex
    .selectFrom('deliveries')
    .innerJoin('clients', 'clients.id', 'deliveries.client_id')
    .selectAll('deliveries')
    .select('clients.name as client_name')
    .where('deliveries.id', '=', id)
    .executeTakeFirst();
}

/** Queues every failing and dead delivery of a client again from the start; returns how many. */
export async function requeueClientDeliveries(ex: Executor, clientId: string, at: number): Promise<number> {
  const res = await ex
    .updateTable('deliveries')
    .set({ status: 'PENDING', attempts: 0, next_attempt_at: at, claimed_until: null, claim_id: null })
    .where('client_id', '=', clientId)
    .where((eb) =>
      eb.or([eb('status', '=', 'DEAD'), eb.and([eb('status', '=', 'PENDING'), eb('attempts', '>', 0)])]),
    )
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** Queues a delivery again from the first step of the schedule, keeping its id (`webhook-id`). */
export async function requeueDelivery(ex: Executor, id: string, at: number): Promise<boolean> {
  const res = await ex
    .updateTable('deliveries')
    .set({ status: 'PENDING', attempts: 0, next_attempt_at: at, claimed_until: null, claim_id: null })
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Creation time of the oldest delivery still waiting to be delivered, or null when none is. */
export async function oldestPendingCreatedAt(ex: Executor): Promise<number | null> {
  const row = await ex
    .selectFrom('deliveries')
    .select((eb) => eb.fn.min('created_at').as('oldest'))
    .where('status', '=', 'PENDING')
    .executeTakeFirst();
  return row?.oldest == null ? null : Number(row.oldest);
}

/** How many deliveries wait now, and since when the oldest does (the pending-only index). */
export async function pendingSummary(ex: Executor): Promise<{ count: number; oldest: number | null }> {
  const row = await ex
    .selectFrom('deliveries')
    .select([
      sql<number | string>`count(*)`.as('n'),
      sql<number | string | null>`min(created_at)`.as('oldest'),
    ])
    // A literal, so SQLite can use the partial index on pending deliveries.
    .where(sql<boolean>`status = 'PENDING'`)
    .executeTakeFirst();
  return { count: Number(row?.n ?? 0), oldest: row?.oldest == null ? null : Number(row.oldest) };
}

/** When the next pending delivery becomes claimable (its attempt is due and no lease holds it). */
export async function nextClaimableAt(ex: Executor): Promise<number | null> {
  const row = await ex
    .selectFrom('deliveries')
    .select(
      sql<
        number | null
      >`min(case when claimed_until > next_attempt_at then claimed_until else next_attempt_at end)`.as(
        'next',
      ),
    )
    .where('status', '=', 'PENDING')
    .executeTakeFirst();
  return row?.next == null ? null : Number(row.next);
}
