import type { Executor } from './db.js';
import { columns, precompile } from './precompiled.js';
import type { PersonRow, PersonsTable } from './schema.js';

const byIdIndex = precompile((ex, p: { idIndex: string }) =>
  ex.selectFrom('persons').selectAll().where('id_index', '=', p.idIndex),
);
const byId = precompile((ex, p: { id: string }) =>
  ex.selectFrom('persons').selectAll().where('id', '=', p.id),
);
const insertIfAbsent = precompile(
  (ex, p: PersonsTable & Record<string, unknown>) =>
    ex
      .insertInto('persons')
      .values(p)
      .onConflict((oc) => oc.column('id_index').doNothing())
      .returningAll(),
  columns,
);

export async function findPersonByIdIndex(ex: Executor, idIndex: string): Promise<PersonRow | undefined> {
  return (await byIdIndex(ex, { idIndex })).rows[0];
}

/**
 * The person with this blind index, created from `make` when there is none yet. Reads first:
 * most requests are for persons already known.
 */
export async function upsertPerson(
  ex: Executor,
  idIndex: string,
  make: (idIndex: string) => PersonsTable,
): Promise<PersonRow> {
  const existing = await findPersonByIdIndex(ex, idIndex);
  if (existing) return existing;
  const inserted = (await insertIfAbsent(ex, { ...make(idIndex) })).rows[0];
  return (
    inserted ??
    (await findPersonByIdIndex(ex, idIndex)) ??
    Promise.reject(new Error('person vanished after a conflicting insert'))
  );
}

export async function findPersonById(ex: Executor, id: string): Promise<PersonRow | undefined> {
  return (await byId(ex, { id })).rows[0];
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
