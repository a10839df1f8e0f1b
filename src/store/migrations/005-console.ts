import { type Kysely, sql } from 'kysely';

/** Operators and their console sessions, hourly statistics, and the console's flow lookups. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('operators')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('must_change_password', 'integer', (c) => c.notNull())
    .addColumn('disabled_at', 'bigint')
    .addColumn('last_login_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('console_sessions')
    // SHA-256 of the cookie value: a copy of the table does not let anyone in.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('operator_id', 'text', (c) => c.notNull().references('operators.id'))
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('console_sessions_operator')
    .on('console_sessions')
    .column('operator_id')
    .execute();

  // Counters per UTC hour, client ('' for gateway-wide ones) and key, added to in the transaction
  // of the change they count: the console's overview reads these, never a scan of flows.
  await db.schema
    .createTable('stats_hourly')
    .addColumn('hour', 'bigint', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('n', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('stats_hourly_pk', ['hour', 'client_id', 'key'])
    .execute();

  // Every notification attempt, for a flow's timeline (deliveries keeps only the last one).
  await db.schema
    .createTable('delivery_attempts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('delivery_id', 'text', (c) => c.notNull().references('deliveries.id'))
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('http_status', 'integer')
    .addColumn('error', 'text')
    .addColumn('latency_ms', 'integer')
    .execute();
  await db.schema
    .createIndex('delivery_attempts_delivery')
    .on('delivery_attempts')
    .columns(['delivery_id', 'at'])
    .execute();

  // Exact search by mobile through a blind index (null on flows created before this migration).
  await db.schema.alterTable('flows').addColumn('mobile_index', 'text').execute();
  await sql`create index flows_mobile_index on flows (mobile_index) where mobile_index is not null`.execute(
    db,
  );
  // The console lists flows newest first (a person's flows use 004's flows_person).
  await db.schema.createIndex('flows_created').on('flows').columns(['created_at', 'id']).execute();
}
