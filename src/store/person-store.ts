import type { Insertable } from 'kysely';
import type { Executor } from './db.js';
import { columns, precompile } from './precompiled.js';
import type { PersonRow, PersonsTable } from './schema.js';

/** One digest per blind-index key held (`i0`, `i1`, …): one compiled query per count. */
const byIdIndexes = precompile(
  (ex, p: Record<string, string>) =>
    ex.selectFrom('persons').selectAll().where('id_index', 'in', Object.values(p)),
  (p) => String(Object.keys(p).length),
);
const byId = precompile((ex, p: { id: string }) =>
  ex.selectFrom('persons').selectAll().where('id', '=', p.id),
);
const insertIfAbsent = precompile(
  (ex, p: Insertable<PersonsTable> & Record<string, unknown>) =>
    ex
      .insertInto('persons')
      .values(p)
      .onConflict((oc) => oc.column('id_index').doNothing())
      .returningAll(),
  columns,
);

/**
 * The person with one of these blind indexes (the ID number's digest under each blind-index key
 * held, the active key's first). Two rows answer only for a person duplicated while processes
 * disagreed on the key; the active key's row wins.
 */
export async function findPersonByIdIndex(
  ex: Executor,
  idIndexes: readonly string[],
): Promise<PersonRow | undefined> {
  const { rows } = await byIdIndexes(ex, Object.fromEntries(idIndexes.map((v, i) => [`i${i}`, v])));
  return rows.length < 2 ? rows[0] : idIndexes.map((i) => rows.find((r) => r.id_index === i)).find(Boolean);
}

/**
 * The person with one of these blind indexes, created from `make` with the first (the active
 * key's) when there is none yet. Reads first: most requests are for persons already known.
 */
export async function upsertPerson(
  ex: Executor,
  idIndexes: readonly string[],
  make: (idIndex: string) => Insertable<PersonsTable>,
): Promise<PersonRow> {
  const existing = await findPersonByIdIndex(ex, idIndexes);
  if (existing) return existing;
  const inserted = (await insertIfAbsent(ex, { ...make(idIndexes[0] as string) })).rows[0];
  return (
    inserted ??
    (await findPersonByIdIndex(ex, idIndexes)) ??
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
  v: { accountId: string; nameIndex: string; nameKeyId: string; at: number },
): Promise<void> {
  await ex
    .updateTable('persons')
    .set({
      account_id: v.accountId,
      verified_at: v.at,
      verified_name_index: v.nameIndex,
      verified_name_key_id: v.nameKeyId,
    })
    .where('id', '=', id)
    .execute();
}
