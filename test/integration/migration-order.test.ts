import { Migrator } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { migrateToLatest, openStore, type Store } from '../../src/store/db.js';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/databases.js';
import { tempDir } from '../support/paths.js';

/** Migrations land on main in any order: a database that ran 006 before 004 existed still gets 004. */
describe.each(await storeKinds())('migrations arriving out of order on %s', (kind) => {
  let db: TestDatabase;
  let store: Store;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    store = openStore(
      loadConfig({ DATA_DIR: tempDir('mig'), DATABASE_URL: db.url }).database,
      pino({ level: 'silent' }),
    );
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('applies 004 after 006 already ran', async () => {
    const all = await migrationProvider.getMigrations();
    const without004 = Object.fromEntries(
      Object.entries(all).filter(([name]) => name !== '004-data-lifecycle'),
    );
    const early = new Migrator({ db: store.db, provider: { getMigrations: async () => without004 } });
    const first = await early.migrateToLatest();
    expect(first.error).toBeUndefined();
    expect(first.results?.map((r) => r.migrationName)).toContain('006-client-api');
    expect(await migrateToLatest(store.db)).toEqual(['004-data-lifecycle']);
    expect(await migrateToLatest(store.db)).toEqual([]);
  });
});
