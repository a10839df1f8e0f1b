import type { Executor } from './db.js';
import type { PersonRow, PersonsTable } from './schema.js';

/** Inserts the person unless one with the same blind index exists; returns the stored row either way. */
export async function upsertPerson(ex: Executor, row: PersonsTable): Promise<PersonRow> {
  await ex
    .insertInto('persons')
    .values(row)
    .onConflict((oc) => oc.column('id_index').doNothing())
    .execute();
  return ex.selectFrom('persons').selectAll().where('id_index', '=', row.id_index).executeTakeFirstOrThrow();
}

export function findPersonById(ex: Executor, id: string): Promise<PersonRow | undefined> {
  return ex.selectFrom('persons').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function setPersonAccount(ex: Executor, id: string, accountId: string): Promise<void> {
  await ex.updateTable('persons').set({ account_id: accountId }).where('id', '=', id).execute();
}

export async function markPersonVerified(
  ex: Executor,
  id: string,
  v: { accountId: string; nameIndex: string; at: number },
): Promise<void> {
  await ex
    .updateTable('persons')
    .set({ account_id: v.accountId, verified_at: v.at, verified_name_index: v.nameIndex })
    .where('id', '=', id)
    .execute();
}
