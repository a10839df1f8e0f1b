import { sql } from 'kysely';
import type { Executor } from './db.js';
import type { FlowRow, FlowStatus, FlowUpdate, NewFlow } from './schema.js';

/** The CREATING reservation and the PENDING flow (if any) of one client for one person. */
export function findLiveFlows(ex: Executor, clientId: string, personId: string): Promise<FlowRow[]> {
  return ex
    .selectFrom('flows')
    .selectAll()
    .where('client_id', '=', clientId)
    .where('person_id', '=', personId)
    .where('status', 'in', ['CREATING', 'PENDING'])
    .execute();
}

/** Inserts a CREATING reservation; false when another request already holds one (unique index). */
export async function tryReserveFlow(ex: Executor, row: NewFlow): Promise<boolean> {
  const inserted = await ex
    .insertInto('flows')
    .values(row)
    .onConflict((oc) =>
      // A literal, not a parameter: SQLite only matches a partial index against the same text.
      oc.columns(['client_id', 'person_id']).where(sql<boolean>`status = 'CREATING'`).doNothing(),
    )
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}

export async function deleteReservation(ex: Executor, id: string, createdBefore?: number): Promise<boolean> {
  let q = ex.deleteFrom('flows').where('id', '=', id).where('status', '=', 'CREATING');
  if (createdBefore !== undefined) q = q.where('created_at', '<', createdBefore);
  const res = await q.executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** Moves a flow from one of `from` to `to`; false when it was not in `from` (status only moves forward). */
export async function transitionFlow(
  ex: Executor,
  id: string,
  from: FlowStatus[],
  to: FlowStatus,
  set: FlowUpdate = {},
): Promise<boolean> {
  const res = await ex
    .updateTable('flows')
    .set({ ...set, status: to })
    .where('id', '=', id)
    .where('status', 'in', from)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function supersedePending(
  ex: Executor,
  clientId: string,
  personId: string,
  exceptId: string,
  at: number,
) {
  await ex
    .updateTable('flows')
    .set({ status: 'SUPERSEDED', updated_at: at })
    .where('client_id', '=', clientId)
    .where('person_id', '=', personId)
    .where('status', '=', 'PENDING')
    .where('id', '!=', exceptId)
    .execute();
}

export function findFlowById(ex: Executor, id: string): Promise<FlowRow | undefined> {
  return ex.selectFrom('flows').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findFlowByShortCode(ex: Executor, code: string): Promise<FlowRow | undefined> {
  return ex.selectFrom('flows').selectAll().where('short_code', '=', code).executeTakeFirst();
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
  await ex
    .updateTable('flows')
    .set({ opened_at: at })
    .where('id', '=', id)
    .where('opened_at', 'is', null)
    .execute();
}

export function findExpiredPending(ex: Executor, now: number, limit: number): Promise<FlowRow[]> {
  return ex
    .selectFrom('flows')
    .selectAll()
    .where('status', '=', 'PENDING')
    .where('expire_at', '<=', now)
    .orderBy('expire_at')
    .limit(limit)
    .execute();
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
