import type { Executor } from './db.js';
import type { PersonRow, PersonsTable } from './schema.js';

/**
 * The person with this blind index, created from `make` when there is none yet. Reads first:
 * most requests are for persons already known.
 */
export async function upsertPerson(
  ex: Executor,
  idIndex: string,
  make: (idIndex: string) => PersonsTable,
): Promise<PersonRow> {
  const find = () => ex.selectFrom('persons').selectAll().where('id_index', '=', idIndex).executeTakeFirst();
  const existing = await find();
  if (existing) return existing;
  const inserted = await ex
    .insertInto('persons')
    .values(make(idIndex))
    .onConflict((oc) => oc.column('id_index').doNothing())
    .returningAll()
    .executeTakeFirst();
  return (
    inserted ?? (await find()) ?? Promise.reject(new Error('person vanished after a conflicting insert'))
  );
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

export function findPersonByIdIndex(ex: Executor, idIndex: string): Promise<PersonRow | undefined> {
  return ex.selectFrom('persons').selectAll().where('id_index', '=', idIndex).executeTakeFirst();
}
