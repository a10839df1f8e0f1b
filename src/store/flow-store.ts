import { type ExpressionBuilder, sql } from 'kysely';
import type { Executor } from './db.js';
import { columns, precompile } from './precompiled.js';
import type { Database, FlowRow, FlowStatus, FlowUpdate, NewFlow } from './schema.js';
import { addStats, createdStats, finalStats, inTransaction, openedStats } from './stats-store.js';

const liveFlows = precompile((ex, p: { clientId: string; personId: string }) =>
  ex
    .selectFrom('flows')
    .selectAll()
    .where('client_id', '=', p.clientId)
    .where('person_id', '=', p.personId)
    .where('status', 'in', ['CREATING', 'PENDING']),
);
const reserve = precompile(
  (ex, p: NewFlow & Record<string, unknown>) =>
    ex
      .insertInto('flows')
      .values(p)
      .onConflict((oc) =>
        // A literal, not a parameter: SQLite only matches a partial index against the same text.
        oc.columns(['client_id', 'person_id']).where(sql<boolean>`status = 'CREATING'`).doNothing(),
      )
      .returning('id'),
  columns,
);
const byId = precompile((ex, p: { id: string }) => ex.selectFrom('flows').selectAll().where('id', '=', p.id));

/** The CREATING reservation and the PENDING flow (if any) of one client for one person. */
export async function findLiveFlows(ex: Executor, clientId: string, personId: string): Promise<FlowRow[]> {
  return (await liveFlows(ex, { clientId, personId })).rows;
}

/** Inserts a CREATING reservation; false when another request already holds one (unique index). */
export async function tryReserveFlow(ex: Executor, row: NewFlow): Promise<boolean> {
  return (await reserve(ex, { ...row })).rows.length > 0;
}

/** Deletes the CREATING reservation of a client and person if it is older than `createdBefore`. */
export async function deleteStaleReservation(
  ex: Executor,
  clientId: string,
  personId: string,
  createdBefore: number,
): Promise<boolean> {
  const res = await ex
    .deleteFrom('flows')
    .where('client_id', '=', clientId)
    .where('person_id', '=', personId)
    .where('status', '=', 'CREATING')
    .where('created_at', '<', createdBefore)
    .executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

export async function deleteReservation(ex: Executor, id: string): Promise<boolean> {
  const res = await ex
    .deleteFrom('flows')
    .where('id', '=', id)
    .where('status', '=', 'CREATING')
    .executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/**
 * Moves a flow from one of `from` to `to`; false when it was not in `from` (status only moves
 * forward). The hourly counters move with it, in the same transaction.
 */
export function transitionFlow(
  ex: Executor,
  id: string,
  from: FlowStatus[],
  to: FlowStatus,
  set: FlowUpdate = {},
): Promise<boolean> {
  return inTransaction(ex, async (trx) => {
    const row = await trx
      .updateTable('flows')
      .set({ ...set, status: to })
      .where('id', '=', id)
      .where('status', 'in', from)
      .returning(['client_id', 'created_at', 'completed_at', 'opened_at'])
      .executeTakeFirst();
    if (!row) return false;
    if (to === 'PENDING')
      await addStats(trx, [...createdStats(row), ...(row.opened_at === null ? [] : openedStats(row))]);
    else if (to !== 'CREATING') await addStats(trx, finalStats(row, to));
    return true;
  });
}

export async function supersedePending(
  ex: Executor,
  clientId: string,
  personId: string,
  exceptId: string,
  at: number,
) {
  await inTransaction(ex, async (trx) => {
    const rows = await trx
      .updateTable('flows')
      .set({ status: 'SUPERSEDED', updated_at: at })
      .where('client_id', '=', clientId)
      .where('person_id', '=', personId)
      .where('status', '=', 'PENDING')
      .where('id', '!=', exceptId)
      .returning(['client_id', 'created_at', 'completed_at'])
      .execute();
    await addStats(
      trx,
      rows.flatMap((r) => finalStats(r, 'SUPERSEDED')),
    );
  });
}

export async function clientHasFlowsFor(ex: Executor, clientId: string, personId: string): Promise<boolean> {
  const row = await ex
    .selectFrom('flows')
    .select('id')
    .where('client_id', '=', clientId)
    .where('person_id', '=', personId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export async function findFlowById(ex: Executor, id: string): Promise<FlowRow | undefined> {
  return (await byId(ex, { id })).rows[0];
}

/** By the short code's digest under any blind-index key held (see services/flows/links.ts). */
export function findFlowByShortCode(ex: Executor, digests: readonly string[]): Promise<FlowRow | undefined> {
  return ex.selectFrom('flows').selectAll().where('short_code', 'in', digests).executeTakeFirst();
}

export function findFlowByProviderId(
  ex: Executor,
  provider: string,
  providerFlowId: string,
): Promise<FlowRow | undefined> {
  return ex
    .selectFrom('flows')
    .selectAll()
    .where('provider', '=', provider)
    .where('provider_flow_id', '=', providerFlowId)
    .executeTakeFirst();
}

export async function markOpened(ex: Executor, id: string, at: number): Promise<void> {
  await inTransaction(ex, async (trx) => {
    const row = await trx
      .updateTable('flows')
      .set({ opened_at: at })
      .where('id', '=', id)
      .where('opened_at', 'is', null)
      .returning(['client_id', 'created_at', 'status'])
      .executeTakeFirst();
    // A reservation is not a flow yet: its counters start when it becomes PENDING.
    if (row && row.status !== 'CREATING') await addStats(trx, openedStats(row));
  });
}

export interface ReconcileClaim {
  now: number;
  /** Flows expiring before this are "near expiry" and go first. */
  soon: number;
  /** The claimed flows are not handed out again before this (the caller sets the real next time). */
  leaseUntil: number;
  limit: number;
  /** Only flows already past their expiry (the expiry sweep). */
  pastExpiryOnly?: boolean;
  /** PostgreSQL: skip rows another claimer is taking right now instead of waiting for it. */
  skipLocked: boolean;
}

/**
 * Claims pending flows that are due for a provider query, opened and near-expiry ones first. One
 * atomic UPDATE moves `reconcile_due_at` past now, so a flow goes to one claimer however many
 * processes ask at once; the condition is repeated outside the sub-select so that PostgreSQL
 * re-checks it on a row another transaction just claimed.
 */
export function claimFlowsForReconcile(ex: Executor, c: ReconcileClaim): Promise<FlowRow[]> {
  const due = (eb: ExpressionBuilder<Database, 'flows'>) =>
    eb.and([
      // A literal, so SQLite can use the partial index on pending flows (a parameter cannot match it).
      sql<boolean>`status = 'PENDING'`,
      eb('provider_flow_id', 'is not', null),
      eb.or([eb('reconcile_due_at', 'is', null), eb('reconcile_due_at', '<=', c.now)]),
      ...(c.pastExpiryOnly ? [eb('expire_at', '<=', c.now)] : []),
    ]);
  let pick = ex
    .selectFrom('flows')
    .select('id')
    .where(due)
    .orderBy(sql`case when expire_at <= ${c.soon} or opened_at is not null then 0 else 1 end`)
    .orderBy(sql`coalesce(reconcile_due_at, 0)`)
    .limit(c.limit);
  if (c.skipLocked) pick = pick.forUpdate().skipLocked();
  return ex
    .updateTable('flows')
    .set({ reconcile_due_at: c.leaseUntil })
    .where('id', 'in', pick)
    .where(due)
    .returningAll()
    .execute();
}

export async function setReconcileDue(ex: Executor, id: string, dueAt: number): Promise<void> {
  await ex.updateTable('flows').set({ reconcile_due_at: dueAt }).where('id', '=', id).execute();
}

/** Reservations whose request died between reserving and hearing back from the provider. */
export async function deleteStaleReservations(ex: Executor, createdBefore: number): Promise<number> {
  const res = await ex
    .deleteFrom('flows')
    .where('status', '=', 'CREATING')
    .where('created_at', '<', createdBefore)
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}

/** Flows written before migration 003: plain short code and provider link. */
export function findUnsealedFlows(
  ex: Executor,
  limit: number,
): Promise<{ id: string; short_code: string; original_url: string | null; blind_key_id: string }[]> {
  return ex
    .selectFrom('flows')
    .select(['id', 'short_code', 'original_url', 'blind_key_id'])
    .where('short_code_enc', 'is', null)
    .limit(limit)
    .execute();
}

export async function sealFlow(
  ex: Executor,
  id: string,
  sealed: { short_code: string; short_code_enc: string; original_url: string | null },
): Promise<void> {
  await ex
    .updateTable('flows')
    .set(sealed)
    .where('id', '=', id)
    .where('short_code_enc', 'is', null)
    .execute();
}

/** Flows from before migration 005 that still hold a mobile number but have no index of it. */
export function findFlowsWithoutMobileIndex(
  ex: Executor,
  limit: number,
): Promise<{ id: string; mobile_enc: string; blind_key_id: string }[]> {
  return ex
    .selectFrom('flows')
    .select(['id', 'mobile_enc', 'blind_key_id'])
    .where('mobile_index', 'is', null)
    .where('erased_at', 'is', null)
    .where('mobile_enc', '!=', '')
    .limit(limit)
    .execute();
}

export async function setMobileIndex(ex: Executor, id: string, mobileIndex: string): Promise<void> {
  await ex
    .updateTable('flows')
    .set({ mobile_index: mobileIndex })
    .where('id', '=', id)
    .where('mobile_index', 'is', null)
    .execute();
}

export type ListedStatus = 'PENDING' | 'SUCCESS' | 'FAILED' | 'EXPIRED' | 'SUPERSEDED';

export interface FlowListQuery {
  clientId: string;
  /** A status as clients see it: a pending flow past its expiry already reads EXPIRED. */
  status?: ListedStatus;
  /** created_at ≥ since, < until (ms). */
  since?: number;
  until?: number;
  /** Continue after this (created_at, id), newest first. */
  after?: { createdAt: number; id: string };
  now: number;
  limit: number;
}

export type ListedFlow = FlowRow & { id_number_enc: string | null };

/**
 * One page of a client's flows, newest first by (created_at, id) — a key that never changes, so
 * a cursor stays valid while new flows arrive. The person's ID number comes along (for masking)
 * so the page costs one query. CREATING reservations are not flows yet and never listed.
 */
export function listClientFlows(ex: Executor, q: FlowListQuery): Promise<ListedFlow[]> {
  let query = ex
    .selectFrom('flows')
    .leftJoin('persons', 'persons.id', 'flows.person_id')
    .selectAll('flows')
    .select('persons.id_number_enc')
    .where('flows.client_id', '=', q.clientId)
    .where('flows.status', '!=', 'CREATING');
  if (q.status === 'PENDING') {
    query = query
      .where('flows.status', '=', 'PENDING')
      .where((eb) => eb.or([eb('flows.expire_at', 'is', null), eb('flows.expire_at', '>', q.now)]));
  } else if (q.status === 'EXPIRED') {
    query = query.where((eb) =>
      eb.or([
        eb('flows.status', '=', 'EXPIRED'),
        eb.and([eb('flows.status', '=', 'PENDING'), eb('flows.expire_at', '<=', q.now)]),
      ]),
    );
  } else if (q.status) {
    query = query.where('flows.status', '=', q.status);
  }
  if (q.since !== undefined) query = query.where('flows.created_at', '>=', q.since);
  if (q.until !== undefined) query = query.where('flows.created_at', '<', q.until);
  const after = q.after;
  if (after) {
    query = query.where((eb) =>
      eb.or([
        eb('flows.created_at', '<', after.createdAt),
        eb.and([eb('flows.created_at', '=', after.createdAt), eb('flows.id', '<', after.id)]),
      ]),
    );
  }
  return query.orderBy('flows.created_at', 'desc').orderBy('flows.id', 'desc').limit(q.limit).execute();
}

/** The first consent wins: a resubmitted page does not move the recorded time. */
export async function recordConsent(
  ex: Executor,
  id: string,
  c: { at: number; textHash: string; lang: string },
): Promise<void> {
  await ex
    .updateTable('flows')
    .set({ consent_at: c.at, consent_text_hash: c.textHash, consent_lang: c.lang })
    .where('id', '=', id)
    .where('consent_at', 'is', null)
    .execute();
}
