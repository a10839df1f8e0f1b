import { sql } from 'kysely';
import type { Executor } from './db.js';
import type { FlowStatus } from './schema.js';

/**
 * Hourly counters (`stats_hourly`) behind the console's overview: a 30-day overview sums a few
 * thousand rows instead of scanning a million flows.
 *
 * Flow counters belong to the hour the flow was created in and its client (a cohort: "of the flows
 * created in this hour, how many were opened, succeeded…"), so the funnel of any time range is
 * consistent. They are added by the store functions that change flows, in the caller's transaction,
 * and `recountFlowStats` derives exactly the same numbers from `flows` (tests compare the two;
 * `stats rebuild` and the bench seed write them from it):
 * - `flow.created`: flows that became PENDING (a reservation that never did is not a flow);
 * - `flow.status.<S>`: flows that reached S (SUCCESS, FAILED, EXPIRED, SUPERSEDED);
 * - `flow.opened`: flows whose link was opened;
 * - `flow.ttc.<bucket>` and `flow.ttc_sum_ms`: time from creation to completion of completed flows.
 *
 * Event counters belong to the hour the event happened: `req.reused`, `req.verified` (answers
 * without a new flow), `up.<op>.<result>` and `up.lat.<bucket>` (provider calls, client ''),
 * `dl.<outcome>` (notification attempts).
 */
export const HOUR = 3_600_000;
export const hourOf = (ms: number) => Math.floor(ms / HOUR) * HOUR;

/** Upper bounds (ms) of the time-to-complete buckets; the last bucket is everything above. */
export const TTC_BOUNDS_MS = [
  5_000, 10_000, 15_000, 20_000, 30_000, 45_000, 60_000, 90_000, 120_000, 180_000, 240_000, 300_000, 450_000,
  600_000, 900_000, 1_200_000, 1_800_000, 2_700_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000, 86_400_000,
];
/** Upper bounds (ms) of the provider-call latency buckets. */
export const LATENCY_BOUNDS_MS = [
  10, 25, 50, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 10_000, 30_000,
];

/** Bucket keys sort as strings in bucket order. */
export const bucketKey = (prefix: string, index: number) => `${prefix}.${String(index).padStart(2, '0')}`;
export function bucketOf(bounds: readonly number[], value: number): number {
  const i = bounds.findIndex((b) => value <= b);
  return i === -1 ? bounds.length : i;
}

export const FINAL_FLOW_STATUSES = ['SUCCESS', 'FAILED', 'EXPIRED', 'SUPERSEDED'] as const;

export interface StatDelta {
  hour: number;
  clientId: string;
  key: string;
  n: number;
}

/**
 * Adds counters. Deltas are merged and written in one sorted statement: PostgreSQL refuses a
 * statement that updates the same row twice, and a fixed lock order keeps concurrent writers from
 * deadlocking each other.
 */
export async function addStats(ex: Executor, deltas: readonly StatDelta[]): Promise<void> {
  if (deltas.length === 0) return;
  const merged = new Map<string, StatDelta>();
  for (const d of deltas) {
    const id = `${d.hour}\u0000${d.clientId}\u0000${d.key}`;
    const seen = merged.get(id);
    if (seen) seen.n += d.n;
    else merged.set(id, { ...d });
  }
  const rows = [...merged.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, d]) => ({ hour: d.hour, client_id: d.clientId, key: d.key, n: d.n }));
  await ex
    .insertInto('stats_hourly')
    .values(rows)
    .onConflict((oc) =>
      oc.columns(['hour', 'client_id', 'key']).doUpdateSet({ n: sql<number>`stats_hourly.n + excluded.n` }),
    )
    .execute();
}

/** Runs `fn` in the caller's transaction, or in a new one when the caller has none. */
export function inTransaction<T>(ex: Executor, fn: (trx: Executor) => Promise<T>): Promise<T> {
  return ex.isTransaction ? fn(ex) : ex.transaction().execute(fn);
}

/** What a flow's row tells the counters: its cohort (creation hour, client) and its timestamps. */
export interface FlowFacts {
  client_id: string;
  created_at: number;
  completed_at?: number | null;
}

const cohort = (f: FlowFacts, key: string, n = 1): StatDelta => ({
  hour: hourOf(f.created_at),
  clientId: f.client_id,
  key,
  n,
});

export const createdStats = (f: FlowFacts): StatDelta[] => [cohort(f, 'flow.created')];
export const openedStats = (f: FlowFacts): StatDelta[] => [cohort(f, 'flow.opened')];

export function finalStats(f: FlowFacts, status: FlowStatus): StatDelta[] {
  const out = [cohort(f, `flow.status.${status}`)];
  if (f.completed_at != null) {
    const ms = Math.max(0, f.completed_at - f.created_at);
    out.push(cohort(f, bucketKey('flow.ttc', bucketOf(TTC_BOUNDS_MS, ms))), cohort(f, 'flow.ttc_sum_ms', ms));
  }
  return out;
}

const hourExpr = sql<number>`(created_at / ${sql.lit(HOUR)}) * ${sql.lit(HOUR)}`;

function ttcBucketExpr() {
  const d = sql`(completed_at - created_at)`;
  const whens = TTC_BOUNDS_MS.map(
    (b, i) => sql`when ${d} <= ${sql.lit(b)} then ${sql.lit(bucketKey('flow.ttc', i))}`,
  );
  return sql<string>`case ${sql.join(whens, sql` `)} else ${sql.lit(bucketKey('flow.ttc', TTC_BOUNDS_MS.length))} end`;
}

/** The flow counters as `flows` itself has them: one SELECT of (hour, client_id, key, n) rows. */
function recountQuery() {
  const finals = sql.join(FINAL_FLOW_STATUSES.map((s) => sql.lit(s)));
  return sql`
    select ${hourExpr} as hour, client_id, 'flow.created' as key, count(*) as n
      from flows where status <> 'CREATING' group by 1, 2
    union all
    select ${hourExpr}, client_id, 'flow.status.' || status, count(*)
      from flows where status in (${finals}) group by 1, 2, 3
    union all
    select ${hourExpr}, client_id, 'flow.opened', count(*)
      from flows where opened_at is not null and status <> 'CREATING' group by 1, 2
    union all
    select ${hourExpr}, client_id, ${ttcBucketExpr()}, count(*)
      from flows where completed_at is not null group by 1, 2, 3
    union all
    select ${hourExpr}, client_id, 'flow.ttc_sum_ms', sum(completed_at - created_at)
      from flows where completed_at is not null group by 1, 2`;
}

/** The flow counters, recounted from `flows` (slow: a full scan; for checks and rebuilds). */
export async function recountFlowStats(ex: Executor): Promise<StatDelta[]> {
  const { rows } = await sql<{
    hour: number | string;
    client_id: string;
    key: string;
    n: number | string;
  }>`${recountQuery()}`.execute(ex);
  return rows.map((r) => ({ hour: Number(r.hour), clientId: r.client_id, key: r.key, n: Number(r.n) }));
}

/**
 * Replaces the stored flow counters with a recount, in one transaction and inside the database.
 * Run it while no gateway changes flows (a change in between would be counted twice or not at all).
 */
export async function rebuildFlowStats(ex: Executor): Promise<number> {
  return inTransaction(ex, async (trx) => {
    await trx.deleteFrom('stats_hourly').where('key', 'like', 'flow.%').execute();
    const res = await sql`insert into stats_hourly (hour, client_id, key, n) ${recountQuery()}`.execute(trx);
    return Number(res.numAffectedRows ?? 0);
  });
}

export interface StatRow {
  hour: number;
  client_id: string;
  key: string;
  n: number;
}

/** Counters of `[from, to)`, optionally only keys starting with `prefix`. */
export async function readStats(ex: Executor, from: number, to: number, prefix?: string): Promise<StatRow[]> {
  let q = ex
    .selectFrom('stats_hourly')
    .select(['hour', 'client_id', 'key', 'n'])
    .where('hour', '>=', from)
    .where('hour', '<', to);
  if (prefix) q = q.where('key', 'like', `${prefix}%`);
  const rows = await q.execute();
  return rows.map((r) => ({ ...r, hour: Number(r.hour), n: Number(r.n) }));
}

/** Sums of `[from, to)` per client and key. */
export async function sumStatsByClient(
  ex: Executor,
  from: number,
  to: number,
): Promise<{ clientId: string; key: string; n: number }[]> {
  const rows = await ex
    .selectFrom('stats_hourly')
    .select(['client_id', 'key', sql<number | string>`sum(n)`.as('n')])
    .where('hour', '>=', from)
    .where('hour', '<', to)
    .groupBy(['client_id', 'key'])
    .execute();
  return rows.map((r) => ({ clientId: r.client_id, key: r.key, n: Number(r.n) }));
}

/**
 * Sums of `keys` over all clients in buckets of `bucketMs` (a multiple of an hour), bucket starts
 * shifted by `offsetMs` (Beijing days start at 16:00 UTC).
 */
export async function sumStatsSeries(
  ex: Executor,
  from: number,
  to: number,
  keys: readonly string[],
  bucketMs: number,
  offsetMs: number,
): Promise<{ at: number; key: string; n: number }[]> {
  const at = sql<number>`((hour + ${sql.lit(offsetMs)}) / ${sql.lit(bucketMs)}) * ${sql.lit(bucketMs)} - ${sql.lit(offsetMs)}`;
  const rows = await ex
    .selectFrom('stats_hourly')
    .select([at.as('at'), 'key', sql<number | string>`sum(n)`.as('n')])
    .where('hour', '>=', from)
    .where('hour', '<', to)
    .where('key', 'in', [...keys])
    .groupBy([sql`1`, 'key'])
    .execute();
  return rows.map((r) => ({ at: Number(r.at), key: r.key, n: Number(r.n) }));
}
