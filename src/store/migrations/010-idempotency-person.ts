import { type Kysely, sql } from 'kysely';

/**
 * Idempotency keys keep only what rebuilds an answer (ids, not the links, which are capabilities
 * stored sealed with their flow) and the person it concerns, so an erasure request deletes them.
 * Rows written before keep their flow id and account id; their links are dropped here.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('idempotency_keys').addColumn('person_id', 'text').execute();
  const rows = await sql<{ client_id: string; key: string; response_body: string }>`
    select client_id, key, response_body from idempotency_keys where response_body is not null`.execute(db);
  for (const row of rows.rows) {
    const old = JSON.parse(row.response_body) as {
      outcome: 'verified' | 'reused' | 'created';
      flowId?: string;
      esignAccountId?: string | null;
    };
    const kept =
      old.outcome === 'verified'
        ? { outcome: old.outcome, esignAccountId: old.esignAccountId }
        : { outcome: old.outcome, flowId: old.flowId, esignAccountId: old.esignAccountId ?? null };
    const flow =
      kept.outcome === 'verified'
        ? undefined
        : (await sql<{ person_id: string }>`select person_id from flows where id = ${old.flowId}`.execute(db))
            .rows[0];
    await sql`update idempotency_keys set response_body = ${JSON.stringify(kept)}, person_id = ${flow?.person_id ?? null}
      where client_id = ${row.client_id} and key = ${row.key}`.execute(db);
  }
}
