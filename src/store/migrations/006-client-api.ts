import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * Issue 13 (client API): stored answers for `Idempotency-Key`, and outbox rows that belong to no
 * flow (the `test.ping` a client sends itself).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('idempotency_keys')
    .addColumn('client_id', 'text', (c) => c.notNull().references('clients.id'))
    .addColumn('key', 'text', (c) => c.notNull())
    // SHA-256 of the canonical request: a reused key with another body is refused, not replayed.
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('response_status', 'integer')
    .addColumn('response_body', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['client_id', 'key'])
    .execute();
  await db.schema
    .createIndex('idempotency_keys_expiry')
    .on('idempotency_keys')
    .column('expires_at')
    .execute();

  // Listing a client's flows newest first pages through (client_id, created_at, id).
  await db.schema
    .createIndex('flows_client_created')
    .on('flows')
    .columns(['client_id', 'created_at', 'id'])
    .execute();

  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`alter table deliveries alter column flow_id drop not null`.execute(db);
    return;
  }
  // SQLite cannot drop NOT NULL in place: rebuild the table with the same columns and indexes.
  await sql`create table deliveries_new (
    id text primary key,
    client_id text not null references clients (id),
    flow_id text references flows (id),
    type text not null,
    payload text not null,
    status text not null,
    attempts integer not null default 0,
    next_attempt_at bigint not null,
    claimed_until bigint,
    claim_id text,
    last_attempt_at bigint,
    last_status integer,
    last_error text,
    created_at bigint not null,
    delivered_at bigint
  )`.execute(db);
  await sql`insert into deliveries_new (id, client_id, flow_id, type, payload, status, attempts,
    next_attempt_at, claimed_until, claim_id, last_attempt_at, last_status, last_error, created_at,
    delivered_at)
    select id, client_id, flow_id, type, payload, status, attempts, next_attempt_at, claimed_until,
    claim_id, last_attempt_at, last_status, last_error, created_at, delivered_at from deliveries`.execute(db);
  await sql`drop table deliveries`.execute(db);
  await sql`alter table deliveries_new rename to deliveries`.execute(db);
  await sql`create unique index deliveries_one_per_flow on deliveries (flow_id)`.execute(db);
  await sql`create index deliveries_due on deliveries (next_attempt_at) where status = 'PENDING'`.execute(db);
  await sql`create index deliveries_client on deliveries (client_id, status)`.execute(db);
}
