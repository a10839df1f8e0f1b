import { type Kysely, sql } from 'kysely';

/**
 * Which blind-index key each row's digests were made with, so that after a rotation the recompute
 * pass knows what is left and `keys retire` knows what still depends on an old key. Rows written
 * before this migration used the one key there was, whose id is `default`. A person's verified
 * name has a key of its own: it can only be recomputed while some flow still holds that name.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const table of ['persons', 'flows']) {
    await db.schema
      .alterTable(table)
      .addColumn('blind_key_id', 'text', (c) => c.notNull().defaultTo('default'))
      .execute();
  }
  await db.schema.alterTable('persons').addColumn('verified_name_key_id', 'text').execute();
  await sql`update persons set verified_name_key_id = 'default' where verified_name_index is not null`.execute(
    db,
  );
}
