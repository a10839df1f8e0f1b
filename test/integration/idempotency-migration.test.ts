import { Migrator, sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { migrateToLatest, openStore, type Store } from '../../src/store/db.js';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/databases.js';
import { tempDir } from '../support/paths.js';

const MIGRATION = '010-idempotency-person';
const FLOW = '0196f0a0-0000-7000-8000-000000000001';
const PERSON = '0196f0a0-0000-7000-8000-0000000000aa';

/** Keys stored before 010 held the whole answer, links included: 010 keeps only the ids. */
describe.each(await storeKinds())('migration 010 on idempotency keys written before it, on %s', (kind) => {
  let db: TestDatabase;
  let store: Store;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    store = openStore(
      loadConfig({ DATA_DIR: tempDir('mig010'), DATABASE_URL: db.url }).database,
      pino({ level: 'silent' }),
    );
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('drops the links, keeps flow and account ids, and names the person', async () => {
    const all = await migrationProvider.getMigrations();
    const before = Object.fromEntries(Object.entries(all).filter(([name]) => name !== MIGRATION));
    const early = new Migrator({ db: store.db, provider: { getMigrations: async () => before } });
    expect((await early.migrateToLatest()).error).toBeUndefined();

    const x = store.db;
    await sql`insert into clients (id, name, sys_ids, created_at) values ('c1', 'acme', 'E02', 0)`.execute(x);
    await sql`insert into persons (id, id_index, name_enc, id_number_enc, id_kind, created_at)
      values (${PERSON}, 'ix', 'k1.a', 'k1.b', 'ID_CARD', 0)`.execute(x);
    await sql`insert into flows (id, client_id, person_id, provider, status, fingerprint, short_code,
      name_enc, mobile_enc, valid_period_enc, created_at, updated_at)
      values (${FLOW}, 'c1', ${PERSON}, 'sandbox', 'PENDING', 'fp', 'sc', 'k1.c', 'k1.d', 'k1.e', 0, 0)`.execute(
      x,
    );
    const created = {
      outcome: 'created',
      flowId: FLOW,
      authUrl: 'http://127.0.0.1:8080/s/AbCdEfGhIjKl',
      originalUrl: 'http://127.0.0.1:8080/h5/sandbox/sbx_secret',
      expire: '2026-11-30T10:00:00+08:00',
      esignAccountId: null,
    };
    const verified = { outcome: 'verified', esignAccountId: '3e909b0e71665829a1052ceddcf9d418' };
    for (const [key, body] of [
      ['k-created', created],
      ['k-verified', verified],
    ] as const) {
      await sql`insert into idempotency_keys (client_id, key, request_hash, status, response_status,
        response_body, created_at, expires_at)
        values ('c1', ${key}, 'h', 'DONE', 200, ${JSON.stringify(body)}, 0, 1)`.execute(x);
    }
    await sql`insert into idempotency_keys (client_id, key, request_hash, status, created_at, expires_at)
      values ('c1', 'k-running', 'h', 'RUNNING', 0, 1)`.execute(x);

    expect(await migrateToLatest(store.db)).toEqual([MIGRATION]);

    const rows = await x
      .selectFrom('idempotency_keys')
      .select(['key', 'response_body', 'person_id'])
      .orderBy('key')
      .execute();
    expect(rows).toEqual([
      {
        key: 'k-created',
        response_body: JSON.stringify({ outcome: 'created', flowId: FLOW, esignAccountId: null }),
        person_id: PERSON,
      },
      { key: 'k-running', response_body: null, person_id: null },
      { key: 'k-verified', response_body: JSON.stringify(verified), person_id: null },
    ]);
  });
});
