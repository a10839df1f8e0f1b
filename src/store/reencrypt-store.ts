import { sql } from 'kysely';
import type { Executor } from './db.js';
import { sameAs } from './unchanged.js';

/**
 * Every column holding a value encrypted under a key id (`<keyId>.<ciphertext>`), by table. Erased
 * values are '' and absent ones null; neither is tied to a key.
 */
export const ENCRYPTED_COLUMNS = {
  persons: ['name_enc', 'id_number_enc'],
  flows: ['name_enc', 'mobile_enc', 'valid_period_enc', 'short_code_enc', 'original_url'],
  clients: ['webhook_secret_enc', 'webhook_secret_prev_enc'],
} as const;

export type EncryptedTable = keyof typeof ENCRYPTED_COLUMNS;
export const ENCRYPTED_TABLES = Object.keys(ENCRYPTED_COLUMNS) as EncryptedTable[];

export type EncryptedRow = { id: string } & Record<string, string | null>;

const columns = (table: EncryptedTable) => ENCRYPTED_COLUMNS[table] as readonly string[];

/** The next rows in primary-key order after `cursor` (a walk that survives restarts). */
export async function rowsAfter(
  ex: Executor,
  table: EncryptedTable,
  cursor: string,
  limit: number,
): Promise<EncryptedRow[]> {
  const cols = sql.join(columns(table).map((c) => sql.ref(c)));
  const r =
    await sql<EncryptedRow>`select id, ${cols} from ${sql.table(table)} where id > ${cursor} order by id limit ${limit}`.execute(
      ex,
    );
  return r.rows;
}

/**
 * Replaces a row's encrypted values in one UPDATE, only if they are still the ones read (another
 * process may have re-encrypted or erased the row meanwhile). A crash leaves the row wholly old or
 * wholly new.
 */
export async function replaceEncrypted(
  ex: Executor,
  table: EncryptedTable,
  before: EncryptedRow,
  after: Record<string, string | null>,
): Promise<boolean> {
  const cols = columns(table);
  const set = sql.join(cols.map((c) => sql`${sql.ref(c)} = ${after[c] ?? null}`));
  const where = sql.join(
    cols.map((c) => sameAs(c, before[c] ?? null)),
    sql` and `,
  );
  const r = await sql`update ${sql.table(table)} set ${set} where id = ${before.id} and ${where}`.execute(ex);
  return Number(r.numAffectedRows ?? 0) > 0;
}

const onKey = (col: string, keyId: string) =>
  sql`substr(${sql.ref(col)}, 1, ${keyId.length + 1}) = ${`${keyId}.`}`;

/** Values encrypted under `keyId`, per table (summed over its columns). */
export async function countOnKey(ex: Executor, table: EncryptedTable, keyId: string): Promise<number> {
  let total = 0;
  for (const c of columns(table)) {
    const r = await sql<{
      n: number | string;
    }>`select count(*) as n from ${sql.table(table)} where ${onKey(c, keyId)}`.execute(ex);
    total += Number(r.rows[0]?.n ?? 0);
  }
  return total;
}

/** Values encrypted under any key other than `keyId` (what re-encryption still has to move). */
export async function countOffKey(ex: Executor, table: EncryptedTable, keyId: string): Promise<number> {
  let total = 0;
  for (const c of columns(table)) {
    const r = await sql<{
      n: number | string;
    }>`select count(*) as n from ${sql.table(table)} where ${sql.ref(c)} is not null and ${sql.ref(c)} <> '' and not (${onKey(c, keyId)})`.execute(
      ex,
    );
    total += Number(r.rows[0]?.n ?? 0);
  }
  return total;
}
