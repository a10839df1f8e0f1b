import { type Kysely, sql } from 'kysely';

/**
 * Personal data lifecycle: the HMAC-chained audit trail, consent records, erased markers and the
 * bookkeeping of maintenance work (retention, key rotation) shared by every process.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Append-only. `seq` is given out under the chain head's row lock, so it has no gaps; each row's
  // MAC covers its own content and the digest of the row before it (see services/audit.ts).
  await db.schema
    .createTable('audit_events')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor_kind', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text')
    .addColumn('flow_id', 'text')
    .addColumn('person_id', 'text')
    .addColumn('target', 'text')
    .addColumn('reason', 'text')
    .addColumn('request_id', 'text')
    .addColumn('detail', 'text')
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('mac', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_events_at').on('audit_events').column('at').execute();
  await db.schema.createIndex('audit_events_flow').on('audit_events').columns(['flow_id', 'seq']).execute();
  await db.schema.createIndex('audit_events_action').on('audit_events').columns(['action', 'seq']).execute();

  // One row: the chain's head (newest row) and base (digest of the newest pruned row). Every append
  // updates it first, which doubles as the lock that orders appends across processes.
  await db.schema
    .createTable('audit_chain')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('last_seq', 'bigint', (c) => c.notNull())
    .addColumn('last_digest', 'text', (c) => c.notNull())
    .addColumn('base_seq', 'bigint', (c) => c.notNull())
    .addColumn('base_digest', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('mac', 'text', (c) => c.notNull())
    .execute();
  await sql`insert into audit_chain (id, last_seq, last_digest, base_seq, base_digest, key_id, mac) values (1, 0, '', 0, '', '', '')`.execute(
    db,
  );

  // Consent as shown on the H5 page (or reported opened by e签宝): when, which text, which language.
  // `erased_at`: the personal fields were erased (retention or a deletion request); the row stays.
  for (const [name, type] of [
    ['consent_at', 'bigint'],
    ['consent_text_hash', 'text'],
    ['consent_lang', 'text'],
    ['erased_at', 'bigint'],
  ] as const) {
    await db.schema.alterTable('flows').addColumn(name, type).execute();
  }
  await db.schema.alterTable('persons').addColumn('erased_at', 'bigint').execute();

  // Retention walks final flows not yet erased, oldest first; erased rows leave the index. The
  // status test is a negation so that no equality index on status competes with this one.
  await sql`create index flows_retention on flows (updated_at) where erased_at is null and status not in ('CREATING', 'PENDING')`.execute(
    db,
  );
  await db.schema.createIndex('flows_person').on('flows').column('person_id').execute();
  await sql`create index persons_retention on persons (created_at) where erased_at is null`.execute(db);

  // Small named values shared by all processes: the active encryption key id, cursors of
  // resumable background work (re-encryption), and the like.
  await db.schema
    .createTable('lifecycle_state')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}
