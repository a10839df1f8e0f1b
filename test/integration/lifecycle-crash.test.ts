import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { reindex } from '../../src/services/lifecycle/blind-index-reindex.js';
import { rotateBlindKey } from '../../src/services/lifecycle/blind-index-rotation.js';
import { rotateKey } from '../../src/services/lifecycle/key-rotation.js';
import type { FlowsTable } from '../../src/store/schema.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/databases.js';
import { ROOT, tempDir } from '../support/paths.js';
import { person } from '../support/people.js';

const key = () => randomBytes(32).toString('base64');
const K1 = key();
const K2 = key();
const BLIND = key();
const B1 = key();
const ROWS = 6000;
const DAY = 86_400_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Retention, erasure and re-encryption run in a real CLI process that is killed with SIGKILL
 * while it works: every row is afterwards wholly done or wholly untouched, and running the command
 * again finishes the job.
 */
describe.each(await storeKinds())('personal data work across a killed process on %s', (kind) => {
  let db: TestDatabase;
  let rt: Runtime;
  let env: Record<string, string>;
  let clientId: string;
  const p = person(81_000 + (kind === 'postgres' ? 500 : 0));

  const run = (args: string[], input?: string): { proc: ChildProcess; exited: Promise<number | null> } => {
    const proc = spawn(process.execPath, [path.join(ROOT, 'bin/etc-esign'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    proc.stdin?.end(input ?? '');
    return { proc, exited: new Promise((resolve) => proc.once('exit', (code) => resolve(code))) };
  };
  /** Starts the command and kills it once `started` says it is halfway. */
  const killMidway = async (args: string[], started: () => Promise<boolean>, input?: string) => {
    const { proc, exited } = run(args, input);
    const deadline = Date.now() + 30_000;
    let killed = false;
    while (Date.now() < deadline && proc.exitCode === null) {
      if (await started()) {
        proc.kill('SIGKILL');
        killed = true;
        break;
      }
      await sleep(10);
    }
    await exited;
    return killed;
  };

  const seedFlows = async (n: number, personId: string, opts: { status: FlowsTable['status'] }) => {
    const old = Date.now() - 10 * DAY;
    for (let i = 0; i < n; i += 500) {
      const rows = Array.from({ length: Math.min(500, n - i) }, () => ({
        id: randomUUID(),
        client_id: clientId,
        person_id: personId,
        provider: 'sandbox',
        provider_flow_id: `sbx_${randomBytes(8).toString('hex')}`,
        status: opts.status,
        fingerprint: randomBytes(32).toString('hex'),
        short_code: randomBytes(32).toString('hex'),
        short_code_enc: rt.cipher.encrypt(randomBytes(9).toString('base64url')),
        original_url: rt.cipher.encrypt('http://127.0.0.1/h5/sandbox/x'),
        expire_at: old + DAY,
        name_enc: rt.cipher.encrypt(p.name),
        mobile_enc: rt.cipher.encrypt(p.mobile),
        valid_period_enc: rt.cipher.encrypt(p.validPeriod),
        created_at: old,
        updated_at: old,
      }));
      await rt.store.db.insertInto('flows').values(rows).execute();
    }
  };
  /** A person row: indexed under its own id (many rows), or under `p`'s ID number (the one person `p`). */
  const seedPerson = async (opts: { asP?: boolean; createdAt?: number } = {}) => {
    const id = randomUUID();
    await rt.store.db
      .insertInto('persons')
      .values({
        id,
        id_index: rt.cipher.blindIndex('id', opts.asP ? p.idNumber : id),
        name_enc: rt.cipher.encrypt(p.name),
        id_number_enc: rt.cipher.encrypt(p.idNumber),
        id_kind: 'CN',
        created_at: opts.createdAt ?? Date.now() - 10 * DAY,
      })
      .execute();
    return id;
  };
  const flowRows = () =>
    rt.store.db
      .selectFrom('flows')
      .select([
        'name_enc',
        'mobile_enc',
        'valid_period_enc',
        'fingerprint',
        'original_url',
        'short_code_enc',
        'erased_at',
      ])
      .execute();
  /** Every row wholly erased or wholly intact. */
  const expectWhole = async () => {
    const rows = await flowRows();
    const erased = rows.filter((r) => r.erased_at !== null);
    for (const r of erased)
      expect([r.name_enc, r.mobile_enc, r.valid_period_enc, r.fingerprint, r.original_url]).toEqual([
        '',
        '',
        '',
        '',
        null,
      ]);
    for (const r of rows.filter((x) => x.erased_at === null)) {
      expect(r.name_enc).toMatch(/^k\d\./);
      expect(r.mobile_enc).toMatch(/^k\d\./);
      expect(r.valid_period_enc).toMatch(/^k\d\./);
      expect(r.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    }
    return { erased: erased.length, intact: rows.length - erased.length };
  };
  const erasedCount = async () =>
    Number(
      (
        await rt.store.db
          .selectFrom('flows')
          .select((eb) => eb.fn.countAll<number | string>().as('n'))
          .where('erased_at', 'is not', null)
          .executeTakeFirstOrThrow()
      ).n,
    );

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    env = {
      DATA_DIR: tempDir('lc-crash'),
      DATABASE_URL: db.url,
      ENCRYPTION_KEYS: `k1:${K1},k2:${K2}`,
      BLIND_INDEX_KEY: `default:${BLIND},b1:${B1}`,
      RETENTION_DAYS: '0',
    };
    rt = await createRuntime(loadConfig(env), pino({ level: 'silent' }));
    clientId = randomUUID();
    await rt.store.db
      .insertInto('clients')
      .values({ id: clientId, name: 'acme', sys_ids: 'E02', created_at: Date.now() })
      .execute();
  });
  afterAll(async () => {
    await rt?.close();
    await db?.drop();
  });

  it('retention: killed midway, every row is whole; the next run erases the rest', async () => {
    await seedFlows(ROWS, await seedPerson(), { status: 'SUCCESS' });
    const killed = await killMidway(['retention', 'run'], async () => (await erasedCount()) > 0);
    expect(killed).toBe(true);
    const mid = await expectWhole();
    expect(mid.erased).toBeGreaterThan(0);
    expect(mid.intact).toBeGreaterThan(0);
    const { exited } = run(['retention', 'run']);
    expect(await exited).toBe(0);
    expect(await expectWhole()).toEqual({ erased: ROWS, intact: 0 });
  });

  it('erasure: killed midway, the person’s flows are all erased or all intact; asking again finishes', async () => {
    await rt.store.db.deleteFrom('audit_events').execute();
    await rt.store.db
      .updateTable('audit_chain')
      .set({ last_seq: 0, last_digest: '', base_seq: 0, base_digest: '', key_id: '', mac: '' })
      .execute();
    const personId = await seedPerson({ asP: true, createdAt: Date.now() });
    await seedFlows(ROWS, personId, { status: 'PENDING' });
    const before = await erasedCount();
    // One transaction: killed before its commit, nothing of it remains.
    await killMidway(
      ['person', 'erase', '--client', 'acme', '--id-number-stdin'],
      async () => true,
      p.idNumber,
    );
    const mid = await erasedCount();
    expect([before, before + ROWS]).toContain(mid);
    await expectWhole();
    const { exited } = run(['person', 'erase', '--client', 'acme', '--id-number-stdin'], p.idNumber);
    expect(await exited).toBe(0);
    expect(await erasedCount()).toBe(before + ROWS);
    const statuses = await rt.store.db
      .selectFrom('flows')
      .select('status')
      .distinct()
      .where('person_id', '=', personId)
      .execute();
    expect(statuses).toEqual([{ status: 'EXPIRED' }]);
  });

  it('re-encryption: killed midway, every row is on one key; the next run moves the rest', {
    timeout: 120_000,
  }, async () => {
    await rt.store.db.deleteFrom('flows').execute();
    await seedFlows(ROWS, await seedPerson(), { status: 'PENDING' });
    await rotateKey(rt, { kind: 'cli', id: 'ops' }, { to: 'k2' });
    const onK2 = async () =>
      Number(
        (
          await rt.store.db
            .selectFrom('flows')
            .select((eb) => eb.fn.countAll<number | string>().as('n'))
            .where('name_enc', 'like', 'k2.%')
            .executeTakeFirstOrThrow()
        ).n,
      );
    expect(await killMidway(['keys', 'reencrypt'], async () => (await onK2()) > 0)).toBe(true);
    const rows = await flowRows();
    const keysOf = (r: (typeof rows)[number]) =>
      new Set(
        [r.name_enc, r.mobile_enc, r.valid_period_enc, r.original_url, r.short_code_enc].map((v) =>
          (v ?? '').slice(0, 2),
        ),
      );
    for (const r of rows) expect(keysOf(r).size).toBe(1);
    const moved = rows.filter((r) => r.name_enc.startsWith('k2.')).length;
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(ROWS);
    const { exited } = run(['keys', 'reencrypt']);
    expect(await exited).toBe(0);
    const after = await flowRows();
    expect(
      after.every((r) => [r.name_enc, r.mobile_enc, r.valid_period_enc].every((v) => v.startsWith('k2.'))),
    ).toBe(true);
    // The values survived the move.
    expect(new Set(after.map((r) => rt.cipher.decrypt(r.mobile_enc)))).toEqual(new Set([p.mobile]));
  });

  it('blind-index recompute: killed midway, every row is on one key; the next run moves the rest', {
    timeout: 120_000,
  }, async () => {
    await rt.store.db.deleteFrom('flows').execute();
    await rt.store.db.deleteFrom('persons').execute();
    const personId = await seedPerson({ asP: true, createdAt: Date.now() });
    await seedFlows(ROWS, personId, { status: 'PENDING' });
    const seeded = new Map(
      (await rt.store.db.selectFrom('flows').select(['id', 'short_code', 'fingerprint']).execute()).map(
        (r) => [r.id, r],
      ),
    );
    expect(await rotateBlindKey(rt, { kind: 'cli', id: 'ops' }, { to: 'b1' })).toEqual({
      from: 'default',
      to: 'b1',
    });
    const request = [clientId, p.name, p.idNumber, p.mobile, p.validPeriod].join('\u0000');
    const rows = () =>
      rt.store.db
        .selectFrom('flows')
        .select(['id', 'short_code', 'short_code_enc', 'fingerprint', 'blind_key_id'])
        .execute();
    /** Each flow wholly on the old key (as seeded) or wholly on the new one; returns how many moved. */
    const whole = async () => {
      let moved = 0;
      for (const r of await rows()) {
        if (r.blind_key_id === 'b1') {
          moved++;
          expect([r.short_code, r.fingerprint]).toEqual([
            rt.cipher.blindIndex('short-code', rt.cipher.decrypt(r.short_code_enc as string), 'b1'),
            rt.cipher.blindIndex('request', request, 'b1'),
          ]);
        } else {
          expect(r.blind_key_id).toBe('default');
          const before = seeded.get(r.id);
          expect([r.short_code, r.fingerprint]).toEqual([before?.short_code, before?.fingerprint]);
        }
      }
      return moved;
    };
    const onB1 = async () =>
      Number(
        (
          await rt.store.db
            .selectFrom('flows')
            .select((eb) => eb.fn.countAll<number | string>().as('n'))
            .where('blind_key_id', '=', 'b1')
            .executeTakeFirstOrThrow()
        ).n,
      );
    expect(await killMidway(['keys', 'reindex'], async () => (await onB1()) > 0)).toBe(true);
    const moved = await whole();
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(ROWS);
    // Two processes finish the rest side by side, each claiming its own batches.
    const side = [run(['keys', 'reindex']), run(['keys', 'reindex'])];
    expect(await Promise.all(side.map((r) => r.exited))).toEqual([0, 0]);
    expect(await whole()).toBe(ROWS);
    expect((await reindex(rt, { actor: { kind: 'cli', id: 'ops' } })).done).toBe(true);
    const person = await rt.store.db
      .selectFrom('persons')
      .select(['id_index', 'blind_key_id'])
      .where('id', '=', personId)
      .executeTakeFirstOrThrow();
    expect(person).toEqual({ id_index: rt.cipher.blindIndex('id', p.idNumber, 'b1'), blind_key_id: 'b1' });
  });
});
