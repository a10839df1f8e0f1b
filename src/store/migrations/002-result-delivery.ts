import { type Kysely, sql } from 'kysely';

/** Reconciliation claims on flows, webhook secrets with rotation, and the notification outbox. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('flows').addColumn('reconcile_due_at', 'bigint').execute();
  // Reconciliation scans pending flows only; a partial index keeps that scan small however many
  // finished flows accumulate.
  await sql`create index flows_pending_reconcile on flows (reconcile_due_at) where status = 'PENDING'`.execute(
    db,
  );

  for (const [name, type] of [
    ['webhook_secret_prev_enc', 'text'],
    ['webhook_secret_prev_until', 'bigint'],
    ['notify_disabled_at', 'bigint'],
  ] as const) {
    await db.schema.alterTable('clients').addColumn(name, type).execute();
  }

  await db.schema
    .createTable('deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('client_id', 'text', (c) => c.notNull().references('clients.id'))
    .addColumn('flow_id', 'text', (c) => c.notNull().references('flows.id'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('claimed_until', 'bigint')
    .addColumn('claim_id', 'text')
    .addColumn('last_attempt_at', 'bigint')
    .addColumn('last_status', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('delivered_at', 'bigint')
    .execute();
  // A flow reaches a final status once, so it has at most one notification: a second writer (a
  // bug, or a race we did not foresee) fails instead of notifying twice.
  await db.schema
    .createIndex('deliveries_one_per_flow')
    .on('deliveries')
    .column('flow_id')
    .unique()
    .execute();
  await sql`create index deliveries_due on deliveries (next_attempt_at) where status = 'PENDING'`.execute(db);
  await db.schema
    .createIndex('deliveries_client')
    .on('deliveries')
    .columns(['client_id', 'status'])
    .execute();
}
