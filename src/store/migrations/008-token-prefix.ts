import type { Kysely } from 'kysely';

/**
 * The first four characters of each new token, so `token list` can point at a leaked token
 * without storing it; tokens created before this migration have none.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tokens').addColumn('prefix', 'text').execute();
}
