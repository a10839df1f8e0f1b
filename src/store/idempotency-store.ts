import type { Executor } from './db.js';
import type { IdempotencyKeysTable } from './schema.js';

export type IdempotencyRow = IdempotencyKeysTable;

export async function insertIdempotencyKey(ex: Executor, row: IdempotencyRow): Promise<void> {
  await ex.insertInto('idempotency_keys').values(row).execute();
}

export function findIdempotencyKey(ex: Executor, clientId: string, key: string) {
  return ex
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('client_id', '=', clientId)
    .where('key', '=', key)
    .executeTakeFirst();
}

/** Stores the answer; only the holder of the running row (same `created_at`) may. */
export async function completeIdempotencyKey(
  ex: Executor,
  row: Pick<IdempotencyRow, 'client_id' | 'key' | 'created_at'>,
  response: { status: number; body: string; personId: string | null },
): Promise<void> {
  await ex
    .updateTable('idempotency_keys')
    .set({
      status: 'DONE',
      response_status: response.status,
      response_body: response.body,
      person_id: response.personId,
    })
    .where('client_id', '=', row.client_id)
    .where('key', '=', row.key)
    .where('created_at', '=', row.created_at)
    .where('status', '=', 'RUNNING')
    .execute();
}

/**
 * Deletes a key row if it is still the one described (same `created_at` and status): releases a
 * failed attempt, or clears an expired or abandoned row before taking the key over.
 */
export async function deleteIdempotencyKey(
  ex: Executor,
  row: Pick<IdempotencyRow, 'client_id' | 'key' | 'created_at' | 'status'>,
): Promise<boolean> {
  const res = await ex
    .deleteFrom('idempotency_keys')
    .where('client_id', '=', row.client_id)
    .where('key', '=', row.key)
    .where('created_at', '=', row.created_at)
    .where('status', '=', row.status)
    .executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** An erasure request: the client's keys whose answers concern the person go with the flows. */
export async function deleteIdempotencyKeysForPerson(
  ex: Executor,
  clientId: string,
  personId: string,
): Promise<number> {
  const res = await ex
    .deleteFrom('idempotency_keys')
    .where('client_id', '=', clientId)
    .where('person_id', '=', personId)
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}

/** Housekeeping: keys past their 24 hours. */
export async function deleteExpiredIdempotencyKeys(ex: Executor, now: number): Promise<number> {
  const res = await ex.deleteFrom('idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
  return Number(res.numDeletedRows);
}
