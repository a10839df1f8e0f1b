import type { Kysely } from 'kysely';

/**
 * Every index on `flows` costs pages on each write that touches its columns (a new flow writes
 * each of them twice: reservation, then activation). Kept, each for the query that reads it:
 * - `flows_one_creating_per_person` (unique, CREATING only): `tryReserveFlow` — one provider call
 *   per client and person at a time;
 * - `flows_live` (client_id, person_id, status): `findLiveFlows`, `supersedePending`,
 *   `deleteStaleReservation`;
 * - `flows_provider_flow` (provider, provider_flow_id): `findFlowByProviderId`, the e签宝 callback;
 * - `flows_pending_reconcile` (reconcile_due_at, PENDING only): `claimFlowsForReconcile`;
 * - `flows_client_created` (client_id, created_at, id) (006): `listClientFlows`, newest first;
 * - the unique `short_code`: `findFlowByShortCode`, the short link.
 * Dropped: `flows_status_expire` (status, expire_at), which no query reads — reconciliation and the
 * expiry sweep go through `flows_pending_reconcile`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('flows_status_expire').ifExists().execute();
}
