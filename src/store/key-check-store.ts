import type { Executor } from './db.js';
import type { KeyCheckRow, KeyPurpose } from './schema.js';

export function listKeyChecks(ex: Executor): Promise<KeyCheckRow[]> {
  return ex.selectFrom('key_checks').selectAll().orderBy('created_at').execute();
}

/** Records a key's check value unless a row for that purpose and id exists (another process won). */
export async function addKeyCheck(
  ex: Executor,
  row: { purpose: KeyPurpose; key_id: string; check_value: string; created_at: number },
): Promise<void> {
  await ex
    .insertInto('key_checks')
    .values({ ...row, retired_at: null })
    .onConflict((oc) => oc.columns(['purpose', 'key_id']).doNothing())
    .execute();
}

/** Whether any row holds a value encrypted or indexed with our keys. */
export async function holdsKeyedData(ex: Executor): Promise<boolean> {
  const any = await Promise.all([
    ex.selectFrom('persons').select('id').limit(1).executeTakeFirst(),
    ex.selectFrom('flows').select('id').limit(1).executeTakeFirst(),
    ex
      .selectFrom('clients')
      .select('id')
      .where('webhook_secret_enc', 'is not', null)
      .limit(1)
      .executeTakeFirst(),
    ex.selectFrom('key_checks').select('key_id').limit(1).executeTakeFirst(),
  ]);
  return any.some((row) => row !== undefined);
}

/** One stored encrypted value (a person's name), to try the keys on; null when there is none. */
export async function sampleEncryptedValue(ex: Executor): Promise<string | null> {
  const row = await ex.selectFrom('persons').select('name_enc').limit(1).executeTakeFirst();
  return row?.name_enc ?? null;
}

/** A retired key is no longer required of a process (rotation moved every value off it). */
export async function retireKeyCheck(
  ex: Executor,
  purpose: KeyPurpose,
  keyId: string,
  at: number,
): Promise<void> {
  await ex
    .updateTable('key_checks')
    .set({ retired_at: at })
    .where('purpose', '=', purpose)
    .where('key_id', '=', keyId)
    .where('retired_at', 'is', null)
    .execute();
}
