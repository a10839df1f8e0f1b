import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import {
  type AuditEvent,
  auditKeyUsage,
  listAudit,
  pruneAudit,
  recordAudit,
  resignAudit,
  verifyAudit,
} from '../../src/services/audit.js';
import { markRetired } from '../../src/services/lifecycle/key-registry.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/databases.js';
import { ROOT, tempDir } from '../support/paths.js';

const key = () => randomBytes(32).toString('base64');
const K1 = key();
const K2 = key();
const BLIND = key();

const cli: AuditEvent['actor'] = { kind: 'cli', id: 'ops' };

describe.each(await storeKinds())('audit trail on %s', (kind) => {
  let db: TestDatabase;
  const runtimes: Runtime[] = [];
  const open = async (keys = `k1:${K1}`) => {
    const rt = await createRuntime(
      loadConfig({
        DATA_DIR: tempDir('audit'),
        DATABASE_URL: db.url,
        ENCRYPTION_KEYS: keys,
        BLIND_INDEX_KEY: BLIND,
      }),
      pino({ level: 'silent' }),
    );
    runtimes.push(rt);
    return rt;
  };
  let rt: Runtime;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    rt = await open();
  });
  afterAll(async () => {
    for (const r of runtimes) await r.close();
    await db?.drop();
  });

  const exec = (q: string) => sql.raw(q).execute(rt.store.db);

  it('appends events with gapless sequence numbers, alone or inside a transaction, and lists them', async () => {
    const flowId = randomUUID();
    const first = await recordAudit(rt, { actor: cli, action: 'flow.read', flowId, requestId: 'r-1' });
    expect(first).toBe(1);
    // A rolled-back transaction takes its event (and its sequence number) with it.
    await expect(
      rt.store.db.transaction().execute(async (trx) => {
        await recordAudit(rt, { actor: cli, action: 'person.erase', personId: 'p-1' }, trx);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    const second = await rt.store.db
      .transaction()
      .execute((trx) =>
        recordAudit(
          rt,
          { actor: { kind: 'operator', id: 'alice' }, action: 'flow.reveal', flowId, reason: '客户投诉核实' },
          trx,
        ),
      );
    expect(second).toBe(2);
    await recordAudit(rt, {
      actor: { kind: 'system', id: 'retention' },
      action: 'retention.run',
      detail: { erasedFlows: 3, erasedPersons: 1, dryRun: false },
    });

    const all = await listAudit(rt);
    expect(all.nextCursor).toBeNull();
    expect(all.entries.map((e) => [e.seq, e.action])).toEqual([
      [3, 'retention.run'],
      [2, 'flow.reveal'],
      [1, 'flow.read'],
    ]);
    expect(all.entries[0]).toMatchObject({
      actorKind: 'system',
      actor: 'retention',
      detail: { erasedFlows: 3, erasedPersons: 1, dryRun: false },
      flowId: null,
    });
    expect(all.entries[1]).toMatchObject({
      actorKind: 'operator',
      actor: 'alice',
      reason: '客户投诉核实',
      flowId,
      requestId: null,
    });

    const forFlow = await listAudit(rt, { flowId, limit: 1 });
    expect(forFlow.entries.map((e) => e.seq)).toEqual([2]);
    expect(forFlow.nextCursor).toBe(2);
    const next = await listAudit(rt, { flowId, limit: 1, cursor: 2 });
    expect(next.entries.map((e) => e.seq)).toEqual([1]);
    expect(next.nextCursor).toBeNull();
    expect((await listAudit(rt, { since: Date.now() + 60_000 })).entries).toEqual([]);
    expect((await listAudit(rt, { actions: ['flow.reveal', 'retention.run'] })).entries).toHaveLength(2);

    expect(await verifyAudit(rt)).toMatchObject({ intact: true, rows: 3, lastSeq: 3 });
  });

  it('names the first edited row, and is intact again once the edit is undone', async () => {
    await exec(`update audit_events set reason = 'edited' where seq = 2`);
    expect(await verifyAudit(rt)).toEqual({
      intact: false,
      rows: 1,
      brokenSeq: 2,
      problem: 'row 2 was edited, or the row before it was',
    });
    await exec(`update audit_events set reason = '客户投诉核实' where seq = 2`);
    expect(await verifyAudit(rt)).toMatchObject({ intact: true, rows: 3 });
    // Editing a row breaks the next row's link too, even with the edited row's MAC copied over.
    await exec(`update audit_events set actor = 'mallory' where seq = 1`);
    expect(await verifyAudit(rt)).toMatchObject({ intact: false, brokenSeq: 1 });
    await exec(`update audit_events set actor = 'ops' where seq = 1`);
  });

  it('detects a deleted row in the middle and at the end', async () => {
    for (let i = 0; i < 3; i++)
      await recordAudit(rt, { actor: cli, action: 'token.create', target: `tok_${i}` });
    expect(await verifyAudit(rt)).toMatchObject({ intact: true, rows: 6, lastSeq: 6 });
    const saved = await rt.store.db
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', 'in', [4, 6])
      .execute();

    await exec('delete from audit_events where seq = 4');
    expect(await verifyAudit(rt)).toEqual({
      intact: false,
      rows: 3,
      brokenSeq: 4,
      problem: 'row 4 is missing',
    });
    await rt.store.db
      .insertInto('audit_events')
      .values(saved.filter((r) => r.seq === 4))
      .execute();

    await exec('delete from audit_events where seq = 6');
    expect(await verifyAudit(rt)).toEqual({
      intact: false,
      rows: 5,
      brokenSeq: 6,
      problem: 'rows 6 to 6 are missing',
    });
    // Moving the head back to hide the deletion needs the key: the head's own MAC fails.
    await exec('update audit_chain set last_seq = 5');
    expect(await verifyAudit(rt)).toMatchObject({ intact: false, problem: 'head of the trail was edited' });
    await exec('update audit_chain set last_seq = 6');
    await rt.store.db
      .insertInto('audit_events')
      .values(saved.filter((r) => r.seq === 6))
      .execute();
    expect(await verifyAudit(rt)).toMatchObject({ intact: true, rows: 6 });

    // A forged row appended by hand (no key) is caught, as is one replacing a real row.
    const forged = { ...(saved[1] as (typeof saved)[number]), seq: 7, target: 'tok_forged' };
    await rt.store.db.insertInto('audit_events').values(forged).execute();
    await exec('update audit_chain set last_seq = 7');
    expect(await verifyAudit(rt)).toMatchObject({ intact: false });
    await exec('delete from audit_events where seq = 7');
    await exec('update audit_chain set last_seq = 6');
    expect(await verifyAudit(rt)).toMatchObject({ intact: true, rows: 6 });
  });

  it('keeps one unbroken chain when several processes append at once', async () => {
    const before = (await verifyAudit(rt)) as { lastSeq: number };
    // Separate processes, as production runs them (one process's SQLite connections would block
    // each other's synchronous lock waits).
    const script = `
      import pino from 'pino';
      import { loadConfig } from '${ROOT}/dist/config.js';
      import { createRuntime } from '${ROOT}/dist/runtime.js';
      import { recordAudit } from '${ROOT}/dist/services/audit.js';
      const rt = await createRuntime(loadConfig(process.env), pino({ level: 'silent' }));
      await Promise.all(Array.from({ length: 20 }, (_, j) =>
        recordAudit(rt, { actor: { kind: 'client', id: process.argv[2] }, action: 'flow.read', target: String(j) })));
      await rt.close();
    `;
    const file = path.join(tempDir('audit-proc'), 'append.mjs');
    fs.writeFileSync(file, script);
    const env = {
      PATH: process.env.PATH ?? '',
      DATA_DIR: tempDir('audit'),
      DATABASE_URL: db.url,
      ENCRYPTION_KEYS: `k1:${K1}`,
      BLIND_INDEX_KEY: BLIND,
    };
    await Promise.all(
      ['c1', 'c2', 'c3'].map(
        (id) =>
          new Promise<void>((resolve, reject) => {
            execFile(
              process.execPath,
              [file, id],
              { cwd: ROOT, env, timeout: 60_000 },
              (err, _out, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve()),
            );
          }),
      ),
    );
    const verdict = await verifyAudit(rt);
    expect(verdict).toMatchObject({ intact: true, rows: before.lastSeq + 60, lastSeq: before.lastSeq + 60 });
  });

  it('verifies rows signed under an older key while that key is still loaded', async () => {
    const rotated = await open(`k2:${K2},k1:${K1}`);
    const seq = await recordAudit(rotated, { actor: cli, action: 'keys.rotate', target: 'k2' });
    const row = await rt.store.db
      .selectFrom('audit_events')
      .select('key_id')
      .where('seq', '=', seq)
      .executeTakeFirstOrThrow();
    expect(row.key_id).toBe('k2');
    expect(await verifyAudit(rotated)).toMatchObject({ intact: true, lastSeq: seq });
    // A process without k2 cannot vouch for the new rows, and says so.
    expect(await verifyAudit(rt)).toMatchObject({
      intact: false,
      problem: `head is signed with key k2, which is not loaded`,
    });
  });
});

describe.each(await storeKinds())('audit pruning and re-signing on %s', (kind) => {
  let db: TestDatabase;
  const runtimes: Runtime[] = [];
  const DAY = 86_400_000;
  const open = async (keys: string, now?: () => number) => {
    const rt = await createRuntime(
      loadConfig({
        DATA_DIR: tempDir('audit'),
        DATABASE_URL: db.url,
        ENCRYPTION_KEYS: keys,
        BLIND_INDEX_KEY: BLIND,
      }),
      pino({ level: 'silent' }),
      now ? { now } : {},
    );
    runtimes.push(rt);
    return rt;
  };
  beforeAll(async () => {
    db = await createTestDatabase(kind);
  });
  afterAll(async () => {
    for (const r of runtimes) await r.close();
    await db?.drop();
  });

  it('prunes old events from the bottom and the rest still verifies', async () => {
    const old = await open(`k1:${K1}`, () => Date.now() - 10 * DAY);
    for (let i = 0; i < 5; i++)
      await recordAudit(old, { actor: cli, action: 'flow.read', target: `old${i}` });
    const rt = await open(`k1:${K1}`);
    for (let i = 0; i < 3; i++) await recordAudit(rt, { actor: cli, action: 'flow.read', target: `new${i}` });

    expect(await pruneAudit(rt, Date.now() - 5 * DAY, { kind: 'system', id: 'retention' })).toBe(5);
    const left = await listAudit(rt);
    expect(left.entries.map((e) => [e.seq, e.action, e.target])).toEqual([
      [9, 'audit.prune', null],
      [8, 'flow.read', 'new2'],
      [7, 'flow.read', 'new1'],
      [6, 'flow.read', 'new0'],
    ]);
    expect(left.entries[0]?.detail).toEqual({ pruned: 5 });
    expect(await verifyAudit(rt)).toMatchObject({ intact: true, rows: 4, lastSeq: 9 });
    // Nothing old is left: a second run prunes nothing and records nothing.
    expect(await pruneAudit(rt, Date.now() - 5 * DAY, { kind: 'system', id: 'retention' })).toBe(0);
    expect(await verifyAudit(rt)).toMatchObject({ intact: true, rows: 4, lastSeq: 9 });
  });

  it('re-signs rows of an old key under the new one, refusing to launder an edited row', async () => {
    const rotated = await open(`k2:${K2},k1:${K1}`);
    await sql.raw(`update audit_events set target = 'edited' where seq = 6`).execute(rotated.store.db);
    await expect(resignAudit(rotated)).rejects.toThrow('audit row 6 fails its check under key k1');
    await sql.raw(`update audit_events set target = 'new0' where seq = 6`).execute(rotated.store.db);

    expect(await resignAudit(rotated)).toBe(4);
    expect(await resignAudit(rotated)).toBe(0);
    expect(await auditKeyUsage(rotated)).toEqual({ rows: [{ keyId: 'k2', rows: 4 }], headKeyId: 'k2' });
    // k1 is no longer needed to vouch for the trail: once retired, a process may run without it.
    await markRetired(rotated.store.db, 'k1', Date.now());
    const k2Only = await open(`k2:${K2}`);
    expect(await verifyAudit(k2Only)).toMatchObject({ intact: true, rows: 4, lastSeq: 9 });
  });
});
