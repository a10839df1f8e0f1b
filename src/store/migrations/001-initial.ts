import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('clients')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('sys_ids', 'text', (c) => c.notNull())
    .addColumn('notify_url', 'text')
    .addColumn('webhook_secret_enc', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('client_id', 'text', (c) => c.notNull().references('clients.id'))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .execute();

  await db.schema
    .createTable('persons')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('id_index', 'text', (c) => c.notNull().unique())
    .addColumn('name_enc', 'text', (c) => c.notNull())
    .addColumn('id_number_enc', 'text', (c) => c.notNull())
    .addColumn('id_kind', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text')
    .addColumn('verified_at', 'bigint')
    .addColumn('verified_name_index', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('flows')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('client_id', 'text', (c) => c.notNull().references('clients.id'))
    .addColumn('person_id', 'text', (c) => c.notNull().references('persons.id'))
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('provider_flow_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('short_code', 'text', (c) => c.notNull().unique())
    .addColumn('original_url', 'text')
    .addColumn('expire_at', 'bigint')
    .addColumn('name_enc', 'text', (c) => c.notNull())
    .addColumn('mobile_enc', 'text', (c) => c.notNull())
    .addColumn('valid_period_enc', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text')
    .addColumn('fail_reason', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('opened_at', 'bigint')
    .addColumn('completed_at', 'bigint')
    .execute();

  // The database, not process memory, guarantees one upstream call at a time per client and
  // person: concurrent starters race to insert the CREATING reservation and the losers wait for the
  // winner's link. The old PENDING flow is superseded only once the new one exists.
  await sql`create unique index flows_one_creating_per_person on flows (client_id, person_id) where status = 'CREATING'`.execute(
    db,
  );
  await db.schema
    .createIndex('flows_live')
    .on('flows')
    .columns(['client_id', 'person_id', 'status'])
    .execute();
  await db.schema
    .createIndex('flows_provider_flow')
    .on('flows')
    .columns(['provider', 'provider_flow_id'])
    .execute();
  await db.schema.createIndex('flows_status_expire').on('flows').columns(['status', 'expire_at']).execute();
  await db.schema.createIndex('tokens_client').on('tokens').column('client_id').execute();
}
