import type { Kysely } from 'kysely';

/**
 * Key check values, and flows whose short code and provider link are sealed at rest.
 *
 * `key_checks` holds one row per key the data was written with: an HMAC of a fixed text under the
 * key, which tells a matching key from a wrong one without revealing either. Rotation adds rows
 * for new key ids and sets `retired_at` on ids no row is encrypted with any more; a process must
 * hold every key that is not retired.
 *
 * `flows.short_code` now holds a keyed digest of the code (lookups) and `short_code_enc` the code
 * itself, encrypted (to hand the same link out again); `original_url` is encrypted. Rows written
 * before this migration have `short_code_enc` null and are sealed at the next start, when the keys
 * are at hand (migrations have none).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('key_checks')
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('check_value', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('retired_at', 'bigint')
    .addPrimaryKeyConstraint('key_checks_pk', ['purpose', 'key_id'])
    .execute();
  await db.schema.alterTable('flows').addColumn('short_code_enc', 'text').execute();
}
