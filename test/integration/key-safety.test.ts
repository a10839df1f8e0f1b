import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Migrator } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createKeyFile, KEY_FILE_NAME, KeyError } from '../../src/crypto/keys.js';
import { PiiCipher } from '../../src/crypto/pii.js';
import { createLogger } from '../../src/log.js';
import { createRuntime } from '../../src/runtime.js';
import { openStore } from '../../src/store/db.js';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { runCli } from '../support/cli-run.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/databases.js';
import { sharedKeysEnv } from '../support/esign.js';
import { api, FACE, startGateway } from '../support/gateway.js';
import { tempDir } from '../support/paths.js';
import { person } from '../support/people.js';
import { spawnGateway } from '../support/process.js';

const b64 = (byte: number, length = 32) => Buffer.alloc(length, byte).toString('base64');

/** stderr of a refused start: exactly one line, no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0] ?? '';
}

describe('keys on SQLite', () => {
  const dataDir = tempDir('keysafe');
  const keyFile = path.join(dataDir, KEY_FILE_NAME);
  const dbFile = path.join(dataDir, 'etc-esign.sqlite');
  const env = { DATA_DIR: dataDir };
  let original = '';
  let authUrl = '';
  let originalUrl = '';

  beforeAll(async () => {
    const gw = await startGateway({ env: { DATA_DIR: dataDir } });
    const r = await api(gw, 'POST', FACE, person(96_000));
    expect(r.status).toBe(200);
    authUrl = r.body.data.authUrl;
    originalUrl = r.body.data.originalUrl;
    await gw.close();
    original = fs.readFileSync(keyFile, 'utf8');
  });

  const withKeyFile = async (content: string | null) => {
    if (content === null) fs.rmSync(keyFile, { force: true });
    else fs.writeFileSync(keyFile, content, { mode: 0o600 });
    const run = await runCli(['client', 'list'], env);
    fs.writeFileSync(keyFile, original, { mode: 0o600 });
    return run;
  };
  const keyFileWith = (patch: Record<string, unknown>) =>
    JSON.stringify({ ...JSON.parse(original), ...patch });

  it('keeps short codes and provider links out of the database in the clear', () => {
    const db = new SqliteDatabase(dbFile, { readonly: true });
    try {
      const row = db.prepare('select short_code, short_code_enc, original_url from flows').get() as Record<
        string,
        string
      >;
      const code = authUrl.slice(authUrl.lastIndexOf('/') + 1);
      expect(row.short_code).toMatch(/^[0-9a-f]{64}$/);
      expect(row.short_code).not.toContain(code);
      expect(row.short_code_enc).not.toContain(code);
      expect(row.original_url).toMatch(/^k1\./);
      expect(row.original_url).not.toContain(new URL(originalUrl).pathname);
      const checks = db.prepare('select purpose, key_id, retired_at from key_checks order by purpose').all();
      expect(checks).toEqual([
        { purpose: 'blind_index', key_id: 'default', retired_at: null },
        { purpose: 'encryption', key_id: 'k1', retired_at: null },
      ]);
    } finally {
      db.close();
    }
  });

  it('starts with its own keys, and makes database files an older version left 0644 private', async () => {
    fs.chmodSync(dbFile, 0o644);
    const run = await runCli(['client', 'list'], env);
    expect(run.code).toBe(0);
    expect((fs.statSync(dbFile).mode & 0o777).toString(8)).toBe('600');
  });

  it('refuses to start (exit 2) without its key file, and does not make a new one', async () => {
    fs.rmSync(keyFile);
    const run = await runCli(['client', 'list'], env);
    const exists = fs.existsSync(keyFile);
    fs.writeFileSync(keyFile, original, { mode: 0o600 });
    expect(run.code).toBe(2);
    expect(exists).toBe(false);
    expect(oneLine(run.stderr)).toBe(
      `key error: ${keyFile} is missing but the database holds data encrypted with it: restore the key file from your backup (new keys would leave that data unreadable)`,
    );
  });

  it.each([
    [
      'another encryption key under the same id',
      () => keyFileWith({ encryptionKeys: { k1: b64(7) } }),
      'key error: encryption key "k1" does not match the key "k1" this database was written with: give this process the original key (ENCRYPTION_KEYS or keys.json); a different key would fork the data',
    ],
    [
      'another blind-index key',
      () => keyFileWith({ blindIndexKey: b64(8) }),
      'key error: the blind-index key (BLIND_INDEX_KEY or blindIndexKey in keys.json) does not match the one this database was written with: give this process the original key; a different one would duplicate every person',
    ],
    [
      'the key under a new id only',
      () => {
        const k = JSON.parse(original);
        return keyFileWith({ activeKeyId: 'k2', encryptionKeys: { k2: k.encryptionKeys.k1 } });
      },
      'key error: encryption key "k1" is missing: the database holds data encrypted with it; add it to ENCRYPTION_KEYS (or keys.json) again',
    ],
    [
      'a corrupt key file',
      () => '{"activeKeyId":',
      `key error: ${keyFile} is not valid JSON: restore it from your backup`,
    ],
    [
      'a 16-byte key',
      () => keyFileWith({ encryptionKeys: { k1: b64(1, 16) } }),
      `key error: ${keyFile}: encryption key "k1" has 16 bytes, needs 32 (base64)`,
    ],
    [
      'an empty blind-index key',
      () => keyFileWith({ blindIndexKey: '' }),
      `key error: ${keyFile}: the blind-index key has 0 bytes, needs 32 (base64)`,
    ],
  ])(
    'refuses to start (exit 2) with %s, saying which key and what to do',
    async (_what, content, message) => {
      const run = await withKeyFile(content());
      expect(run.code).toBe(2);
      expect(oneLine(run.stderr)).toBe(message);
    },
  );

  it('serve refuses the same way', async () => {
    fs.writeFileSync(keyFile, keyFileWith({ encryptionKeys: { k1: b64(7) } }), { mode: 0o600 });
    const started = spawnGateway({ DATA_DIR: dataDir });
    await expect(started).rejects.toThrow(
      /exited with 2 before listening: key error: encryption key "k1" does not match/,
    );
    fs.writeFileSync(keyFile, original, { mode: 0o600 });
  });
});

describe('flows written before migration 003', () => {
  it('get their links sealed and their mobile indexed at the next start, and the old link still works', async () => {
    const dataDir = tempDir('legacy');
    const file = path.join(dataDir, 'etc-esign.sqlite');
    const cipher = new PiiCipher(createKeyFile(dataDir));
    const store = openStore({ kind: 'sqlite', file });
    const migrator = new Migrator({ db: store.db, provider: migrationProvider });
    const migrated = await migrator.migrateTo('002-result-delivery');
    expect(migrated.error).toBeUndefined();
    const now = Date.now();
    const clientId = randomUUID();
    const personId = randomUUID();
    const flowId = randomUUID();
    const p = person(96_001);
    const legacyUrl = 'https://legacy.example/h5/face?token=legacy-capability';
    // biome-ignore lint/suspicious/noExplicitAny: the schema type already has the 003 column; this row is from before it.
    const db = store.db as any;
    await db
      .insertInto('clients')
      .values({ id: clientId, name: 'legacy', sys_ids: 'E02', created_at: now })
      .execute();
    await db
      .insertInto('persons')
      .values({
        id: personId,
        id_index: cipher.blindIndex('id', p.idNumber),
        name_enc: cipher.encrypt(p.name),
        id_number_enc: cipher.encrypt(p.idNumber),
        id_kind: 'CN',
        created_at: now,
      })
      .execute();
    await db
      .insertInto('flows')
      .values({
        id: flowId,
        client_id: clientId,
        person_id: personId,
        provider: 'sandbox',
        status: 'PENDING',
        fingerprint: 'f',
        short_code: 'LegacyCode12',
        original_url: legacyUrl,
        expire_at: now + 3_600_000,
        name_enc: cipher.encrypt(p.name),
        mobile_enc: cipher.encrypt(p.mobile),
        valid_period_enc: cipher.encrypt(p.validPeriod),
        created_at: now,
        updated_at: now,
      })
      .execute();
    await store.close();

    const gw = await startGateway({ env: { DATA_DIR: dataDir } });
    try {
      const res = await fetch(`${gw.url}/s/LegacyCode12`, { redirect: 'manual' });
      expect([res.status, res.headers.get('location')]).toEqual([302, legacyUrl]);
      const row = await gw.runtime.store.db
        .selectFrom('flows')
        .select(['short_code', 'short_code_enc', 'original_url', 'mobile_index'])
        .where('id', '=', flowId)
        .executeTakeFirstOrThrow();
      // Found by the console's search by mobile (migration 005) like a flow written today.
      expect(row.mobile_index).toBe(cipher.blindIndex('mobile', p.mobile));
      expect(row.short_code).toMatch(/^[0-9a-f]{64}$/);
      expect(cipher.decrypt(row.short_code_enc ?? '')).toBe('LegacyCode12');
      expect(row.original_url).not.toContain('legacy-capability');
      expect(cipher.decrypt(row.original_url ?? '')).toBe(legacyUrl);
    } finally {
      await gw.close();
    }
  });
});

const pg = await postgresAvailable();
describe.skipIf(!pg)('keys on PostgreSQL', () => {
  let db: TestDatabase;
  const keysA = sharedKeysEnv();
  beforeAll(async () => {
    db = await createTestDatabase('postgres');
  });
  afterAll(async () => db?.drop());

  it('never makes a key file: without ENCRYPTION_KEYS/BLIND_INDEX_KEY it refuses to start (exit 2)', async () => {
    const dataDir = tempDir('pgkeys');
    const run = await runCli(['client', 'list'], { DATA_DIR: dataDir, DATABASE_URL: db.url });
    expect(run.code).toBe(2);
    expect(oneLine(run.stderr)).toBe(
      'key error: ENCRYPTION_KEYS and BLIND_INDEX_KEY are required with PostgreSQL (every process must use the same keys, so none are made here): generate each with `openssl rand -base64 32` once and give them to every process',
    );
    expect(fs.existsSync(path.join(dataDir, KEY_FILE_NAME))).toBe(false);
  });

  it('lets exactly one of two processes starting at once with different keys win, leaving only its keys', async () => {
    const fresh = await createTestDatabase('postgres');
    try {
      const start = (keys: Record<string, string>) =>
        createRuntime(
          loadConfig({ DATA_DIR: tempDir('pgrace'), DATABASE_URL: fresh.url, ...keys }),
          createLogger('silent'),
        );
      const keysB = sharedKeysEnv();
      const [a, b] = await Promise.allSettled([start(keysA), start(keysB)]);
      const won = [a, b].filter((r) => r.status === 'fulfilled');
      const lost = [a, b].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect([won.length, lost.length]).toEqual([1, 1]);
      expect(lost[0]?.reason).toBeInstanceOf(KeyError);
      for (const r of won) await r.value.close();
      const winner = a.status === 'fulfilled' ? keysA : keysB;
      const again = await start(winner);
      await again.close();
    } finally {
      await fresh.drop();
    }
  });

  it('refuses a second process whose keys differ from the first one’s', async () => {
    const base = { DATA_DIR: tempDir('pgkeys'), DATABASE_URL: db.url };
    expect((await runCli(['client', 'create', 'pg-keys'], { ...base, ...keysA })).code).toBe(0);
    expect((await runCli(['client', 'list'], { ...base, ...keysA })).code).toBe(0);
    const otherEncryption = await runCli(['client', 'list'], {
      ...base,
      ...keysA,
      ENCRYPTION_KEYS: `k1:${b64(9)}`,
    });
    expect(otherEncryption.code).toBe(2);
    expect(oneLine(otherEncryption.stderr)).toContain('encryption key "k1" does not match');
    const otherIndex = await runCli(['client', 'list'], { ...base, ...keysA, BLIND_INDEX_KEY: b64(10) });
    expect(otherIndex.code).toBe(2);
    expect(oneLine(otherIndex.stderr)).toContain('the blind-index key (BLIND_INDEX_KEY');
  });
});
