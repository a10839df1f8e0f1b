import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSENT_TEXTS, consentTextHash } from '../../src/domain/consent.js';
import { verifyAudit } from '../../src/services/audit.js';
import { reindex } from '../../src/services/lifecycle/blind-index-reindex.js';
import {
  blindKeyStatus,
  retireBlindKey,
  rotateBlindKey,
} from '../../src/services/lifecycle/blind-index-rotation.js';
import { runCli } from '../support/cli-run.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/databases.js';
import { api, FACE, startGateway, type TestGateway } from '../support/gateway.js';
import { tempDir } from '../support/paths.js';
import { person, type TestPerson } from '../support/people.js';

const b64 = () => randomBytes(32).toString('base64');
const K1 = b64();
const B0 = b64();
const B1 = b64();
const OPS = { kind: 'cli', id: 'ops' } as const;
const ERASE = '/esign/api/persons/erase';

/** The digest the gateway must store, computed here independently. */
const digest = (key: string, purpose: string, value: string) =>
  createHmac('sha256', Buffer.from(key, 'base64')).update(`${purpose}\u0000${value}`).digest('hex');

describe.each(await storeKinds())('blind-index key rotation on %s', (kind) => {
  let db: TestDatabase;
  const gateways: TestGateway[] = [];
  let seed = 73_000 + (kind === 'postgres' ? 500 : 0);
  const open = async (blind: string, on: TestDatabase = db) => {
    const gw = await startGateway({ db: on, env: { ENCRYPTION_KEYS: `k1:${K1}`, BLIND_INDEX_KEY: blind } });
    gateways.push(gw);
    return gw;
  };
  const start = async (gw: TestGateway, p: TestPerson) => {
    const r = await api(gw, 'POST', FACE, p);
    expect(r.status).toBe(200);
    return r.body.data as { flowId: string; authUrl: string; originalUrl: string; message?: string };
  };
  const pass = async (originalUrl: string) => {
    const version = consentTextHash(CONSENT_TEXTS['zh-CN']);
    const res = await fetch(originalUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `consent=yes&result=success&consentVersion=${version}`,
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
  };
  /** Asked again: answered `verified` with no provider call. */
  const expectVerified = async (gw: TestGateway, p: TestPerson) => {
    const calls = gw.startCalls();
    const r = await api(gw, 'POST', FACE, p);
    expect(r.body.data).toEqual({
      message: 'verified',
      esignAccountId: expect.stringMatching(/^[0-9a-f]{32}$/),
      authUrl: '',
      originalUrl: '',
      expire: '',
    });
    expect(gw.startCalls()).toBe(calls);
  };
  /** The short link opened on `gw` (each gateway here listens on a port of its own). */
  const link = async (gw: TestGateway, authUrl: string) =>
    (await fetch(gw.url + new URL(authUrl).pathname, { redirect: 'manual' })).status;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
  });
  afterAll(async () => {
    for (const gw of gateways) await gw.close().catch(() => {});
    await db?.drop();
  });

  it('both indexes answer during the move; afterwards every row is on the new key; retirement strands erased persons only when accepted', async () => {
    // A deployment from before blind-index rotation: one bare key (id "default").
    const first = await open(B0);
    const verified = person(seed++);
    await pass((await start(first, verified)).originalUrl);
    await expectVerified(first, verified);
    const erased = person(seed++);
    const erasedFlow = await start(first, erased);
    await pass(erasedFlow.originalUrl);
    expect((await api(first, 'POST', ERASE, { idNumber: erased.idNumber })).body.data).toEqual({
      erasedFlows: 1,
    });
    await expectVerified(first, erased);
    const pendingPerson = person(seed++);
    const pending = await start(first, pendingPerson);
    await first.close();

    // Every process gets the new key after the current one, then one of them rotates.
    const gw = await open(`default:${B0},b1:${B1}`);
    expect(await rotateBlindKey(gw.runtime, OPS)).toEqual({ from: 'default', to: 'b1' });
    await expect(rotateBlindKey(gw.runtime, OPS)).rejects.toThrow('add one new key to BLIND_INDEX_KEY');

    // Before the recompute: the old digests still answer, new rows get the new key's.
    await expectVerified(gw, verified);
    await expectVerified(gw, erased);
    expect(await link(gw, pending.authUrl)).toBe(302);
    const again = await start(gw, pendingPerson);
    expect(again.flowId).toBe(pending.flowId);
    const late = person(seed++);
    const lateFlow = await start(gw, late);
    const db_ = gw.runtime.store.db;
    const lateRow = await db_
      .selectFrom('persons')
      .innerJoin('flows', 'flows.person_id', 'persons.id')
      .select([
        'persons.id_index',
        'persons.blind_key_id as pkey',
        'flows.blind_key_id as fkey',
        'flows.mobile_index',
      ])
      .where('flows.id', '=', lateFlow.flowId)
      .executeTakeFirstOrThrow();
    expect(lateRow).toEqual({
      id_index: digest(B1, 'id', late.idNumber),
      pkey: 'b1',
      fkey: 'b1',
      mobile_index: digest(B1, 'mobile', late.mobile),
    });
    await pass(lateFlow.originalUrl);
    await expectVerified(gw, late);

    const before = await blindKeyStatus(gw.runtime);
    expect(before).toMatchObject({ activeKeyId: 'b1', remaining: 5, stranded: 1 });
    await expect(retireBlindKey(gw.runtime, 'default', OPS)).rejects.toThrow(
      'blind-index key "default" still indexes 2 persons and 3 flows: wait for the recompute',
    );
    await expect(retireBlindKey(gw.runtime, 'b1', OPS)).rejects.toThrow('"b1" is the active blind-index key');

    // A bounded pass (as the background job does) makes progress; the rest follows.
    const partial = await reindex(gw.runtime, { maxBatches: 1, actor: OPS });
    expect(partial).toEqual({ activeKeyId: 'b1', moved: { persons: 2, flows: 0 }, done: false });
    const rest = await reindex(gw.runtime, { actor: OPS });
    expect(rest).toEqual({ activeKeyId: 'b1', moved: { persons: 0, flows: 3 }, done: true });

    const clientId = (
      await db_.selectFrom('clients').select('id').where('name', '=', 'acme').executeTakeFirstOrThrow()
    ).id;
    const persons = await db_.selectFrom('persons').selectAll().execute();
    const byNumber = (p: TestPerson) =>
      persons.find((r) => r.erased_at === null && gw.runtime.cipher.decrypt(r.id_number_enc) === p.idNumber);
    for (const p of [verified, pendingPerson, late]) {
      const row = byNumber(p);
      const isVerified = p !== pendingPerson;
      expect(row).toMatchObject({
        id_index: digest(B1, 'id', p.idNumber),
        blind_key_id: 'b1',
        verified_name_index: isVerified ? digest(B1, 'name', p.name) : null,
        verified_name_key_id: isVerified ? 'b1' : null,
      });
    }
    // The erased person cannot be recomputed: it keeps the old key's digests.
    const erasedRow = persons.find((r) => r.erased_at !== null);
    expect(erasedRow).toMatchObject({
      id_index: digest(B0, 'id', erased.idNumber),
      blind_key_id: 'default',
      verified_name_index: digest(B0, 'name', erased.name),
      verified_name_key_id: 'default',
    });
    const flows = await db_.selectFrom('flows').selectAll().execute();
    expect(flows).toHaveLength(4);
    for (const f of flows) {
      const code = gw.runtime.cipher.decrypt(f.short_code_enc as string);
      if (f.erased_at !== null) {
        // Its mobile is gone; so is the digest that found it by mobile.
        expect(f).toMatchObject({
          fingerprint: '',
          short_code: digest(B1, 'short-code', code),
          mobile_index: null,
          blind_key_id: 'b1',
        });
        continue;
      }
      const p = [verified, pendingPerson, late].find(
        (x) => gw.runtime.cipher.decrypt(f.mobile_enc) === x.mobile,
      );
      if (!p) throw new Error('unknown flow');
      expect(f).toMatchObject({
        fingerprint: digest(
          B1,
          'request',
          [clientId, p.name, p.idNumber, p.mobile, p.validPeriod].join('\u0000'),
        ),
        short_code: digest(B1, 'short-code', code),
        mobile_index: digest(B1, 'mobile', p.mobile),
        blind_key_id: 'b1',
      });
    }
    // Nothing left: another pass moves nothing.
    expect(await reindex(gw.runtime, { actor: OPS, restart: true })).toEqual({
      activeKeyId: 'b1',
      moved: { persons: 0, flows: 0 },
      done: true,
    });
    const after = await blindKeyStatus(gw.runtime);
    expect(after).toEqual({
      activeKeyId: 'b1',
      processKeyId: 'b1',
      remaining: 0,
      stranded: 1,
      keys: [
        { id: 'b1', held: true, retired: false, persons: 3, flows: 4, stranded: 0 },
        { id: 'default', held: true, retired: false, persons: 0, flows: 0, stranded: 1 },
      ],
    });
    await expectVerified(gw, verified);
    await expectVerified(gw, erased);
    expect(await link(gw, pending.authUrl)).toBe(302);
    expect(await link(gw, erasedFlow.authUrl)).toBe(410);
    expect((await start(gw, pendingPerson)).flowId).toBe(pending.flowId);

    await expect(retireBlindKey(gw.runtime, 'default', OPS)).rejects.toThrow(
      'blind-index key "default" alone recognises 1 persons whose digests cannot be recomputed (erased, or verified under a name no flow holds any more): once it is retired they lose "already verified" and get a new flow when asked for again; add --accept-stranded to retire it anyway',
    );
    expect(await retireBlindKey(gw.runtime, 'default', OPS, { acceptStranded: true })).toEqual({
      stranded: 1,
    });
    const actions = await db_
      .selectFrom('audit_events')
      .select(['action', 'target', 'detail'])
      .where('action', 'in', ['keys.rotate-blind-index', 'keys.reindex', 'keys.retire-blind-index'])
      .orderBy('seq')
      .execute();
    expect(actions.map((a) => [a.action, a.target, a.detail === null ? null : JSON.parse(a.detail)])).toEqual(
      [
        ['keys.rotate-blind-index', 'b1', { from: 'default' }],
        ['keys.reindex', 'b1', { stranded: 1 }],
        ['keys.retire-blind-index', 'default', { stranded: 1 }],
      ],
    );
    await gw.close();

    // The new key alone: everyone recomputed is still known; the erased person is a stranger now.
    const only = await open(`b1:${B1}`);
    await expectVerified(only, verified);
    await expectVerified(only, late);
    expect(await link(only, pending.authUrl)).toBe(302);
    const calls = only.startCalls();
    expect((await start(only, erased)).flowId).toEqual(expect.any(String));
    expect(only.startCalls()).toBe(calls + 1);
    expect(await verifyAudit(only.runtime)).toMatchObject({ intact: true });
    await only.close();

    // A process without the new key refuses to start.
    await expect(open(B0)).rejects.toThrow('blind-index key "b1" is missing');
  });

  it('a person stored twice under two keys: the recompute keeps the new-key row and hands it the verification', async () => {
    const own = await createTestDatabase(kind);
    const gw = await open(`b1:${B1},b2:${b64()}`, own);
    const twice = person(seed++);
    // Written by a process that lacked the active key: the same person under the other key, verified.
    const dupId = randomUUID();
    await gw.runtime.store.db
      .insertInto('persons')
      .values({
        id: dupId,
        id_index: digest(B1, 'id', twice.idNumber),
        blind_key_id: 'b1',
        name_enc: gw.runtime.cipher.encrypt(twice.name),
        id_number_enc: gw.runtime.cipher.encrypt(twice.idNumber),
        id_kind: 'CN',
        account_id: 'a'.repeat(32),
        verified_at: Date.now(),
        verified_name_index: digest(B1, 'name', twice.name),
        verified_name_key_id: 'b1',
        created_at: Date.now(),
      })
      .execute();
    await rotateBlindKey(gw.runtime, OPS, { to: 'b2' });
    const b2 = gw.runtime.cipher.blindIndex('id', twice.idNumber);
    const keptId = randomUUID();
    await gw.runtime.store.db
      .insertInto('persons')
      .values({
        id: keptId,
        id_index: b2,
        blind_key_id: 'b2',
        name_enc: gw.runtime.cipher.encrypt(twice.name),
        id_number_enc: gw.runtime.cipher.encrypt(twice.idNumber),
        id_kind: 'CN',
        created_at: Date.now(),
      })
      .execute();
    await reindex(gw.runtime, { actor: OPS });
    const rows = await gw.runtime.store.db
      .selectFrom('persons')
      .select(['id', 'id_index', 'blind_key_id', 'account_id', 'verified_name_key_id'])
      .where('id', 'in', [dupId, keptId])
      .execute();
    const account = 'a'.repeat(32);
    expect(new Map(rows.map((r) => [r.id, r]))).toEqual(
      new Map([
        [
          keptId,
          { id: keptId, id_index: b2, blind_key_id: 'b2', account_id: account, verified_name_key_id: 'b2' },
        ],
        [
          dupId,
          {
            id: dupId,
            id_index: `duplicate:${dupId}`,
            blind_key_id: 'b2',
            account_id: account,
            verified_name_key_id: 'b2',
          },
        ],
      ]),
    );
    await expectVerified(gw, twice);
    await gw.close();
    await own.drop();
  });

  it.runIf(kind === 'sqlite')('rotates the blind-index key of a key file from the CLI', async () => {
    const env = {
      DATA_DIR: tempDir('bkeys'),
      DATABASE_URL: `sqlite:${path.join(tempDir('bkeys-db'), 'db.sqlite')}`,
    };
    const cli = (...args: string[]) => runCli(args, env);
    expect(await cli('client', 'create', 'acme')).toMatchObject({ code: 0, stderr: '' });
    const file = path.join(env.DATA_DIR, 'keys.json');
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).blindIndexKey).toEqual(expect.any(String));

    const rotated = await cli('keys', 'rotate', '--blind-index');
    expect(rotated).toMatchObject({
      code: 0,
      stderr: '',
      stdout:
        'active blind-index key: b1 (was default); old indexes are recomputed in the background (keys status)\n',
    });
    const keyFile = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(keyFile.activeBlindIndexKeyId).toBe('b1');
    expect(Object.keys(keyFile.blindIndexKeys)).toEqual(['default', 'b1']);
    expect((fs.statSync(file).mode & 0o777).toString(8)).toBe('600');

    const status = (await cli('keys', 'status')).stdout;
    expect(status).toMatch(/\nactive blind-index key: b1\n/);
    expect(status).toMatch(/\nblind-index recompute: done\n$/);
    expect(JSON.parse((await cli('keys', 'reindex')).stdout)).toEqual({
      activeKeyId: 'b1',
      moved: { persons: 0, flows: 0 },
      done: true,
    });
    expect(await cli('keys', 'retire', 'default', '--blind-index')).toMatchObject({
      code: 0,
      stdout: 'retired blind-index key default\n',
    });
    expect(Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')).blindIndexKeys)).toEqual(['b1']);
    expect((await cli('keys', 'generate', '--next', '--blind-index')).stdout).toMatch(
      /^b2:[A-Za-z0-9+/]{43}=\n$/,
    );
    expect((await cli('audit', 'verify')).code).toBe(0);
  });
});
