import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src/services/audit.js';
import { createClient } from '../../src/services/clients/admin.js';
import { keyStatus, reencrypt, retireKey, rotateKey } from '../../src/services/lifecycle/key-rotation.js';
import { runCli } from '../support/cli-run.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/databases.js';
import { api, FACE, startGateway, type TestGateway } from '../support/gateway.js';
import { recordSecret, tempDir } from '../support/paths.js';
import { person, type TestPerson } from '../support/people.js';

const key = () => randomBytes(32).toString('base64');
const K1 = key();
const K2 = key();
const BLIND = key();
const OPS = { kind: 'cli', id: 'ops' } as const;

const masked = (p: TestPerson) => ({
  name: `**${p.name.slice(2)}`,
  idNumber: `${p.idNumber.slice(0, 4)}**********${p.idNumber.slice(14)}`,
  mobile: `${p.mobile.slice(0, 3)}****${p.mobile.slice(7)}`,
});

describe.each(await storeKinds())('encryption key rotation on %s', (kind) => {
  let db: TestDatabase;
  const gateways: TestGateway[] = [];
  let seed = 71_000 + (kind === 'postgres' ? 500 : 0);
  const open = async (keys: string) => {
    const gw = await startGateway({
      db,
      env: { ENCRYPTION_KEYS: keys, BLIND_INDEX_KEY: BLIND, NOTIFY_ALLOW_PRIVATE_NETWORKS: 'true' },
    });
    gateways.push(gw);
    return gw;
  };
  const prefixes = async (gw: TestGateway) => {
    const rows = await gw.runtime.store.db
      .selectFrom('flows')
      .select(['name_enc', 'mobile_enc', 'valid_period_enc'])
      .execute();
    const persons = await gw.runtime.store.db
      .selectFrom('persons')
      .select(['name_enc', 'id_number_enc'])
      .execute();
    const clients = await gw.runtime.store.db.selectFrom('clients').select('webhook_secret_enc').execute();
    return new Set(
      [
        ...rows.flatMap(Object.values),
        ...persons.flatMap(Object.values),
        ...clients.map((c) => c.webhook_secret_enc),
      ]
        .filter((v): v is string => typeof v === 'string' && v !== '')
        .map((v) => v.split('.')[0]),
    );
  };

  beforeAll(async () => {
    db = await createTestDatabase(kind);
  });
  afterAll(async () => {
    for (const gw of gateways) await gw.close().catch(() => {});
    await db?.drop();
  });

  it('moves every value and audit row to the new key, retires the old one, and reads everything with the new key alone', async () => {
    const first = await open(`k1:${K1}`);
    const people = Array.from({ length: 5 }, () => person(seed++));
    const flows: string[] = [];
    for (const p of people) {
      const r = await api(first, 'POST', FACE, p);
      flows.push(r.body.data.flowId);
    }
    const secret = (await createClient(first.runtime, 'hooks', { notifyUrl: 'http://127.0.0.1:9/hook' }))
      .webhookSecret;
    recordSecret(secret as string);
    await first.close();

    // Every process gets the new key beside the old one first; the old one still encrypts.
    const gw = await open(`k1:${K1},k2:${K2}`);
    expect(await prefixes(gw)).toEqual(new Set(['k1']));
    expect((await keyStatus(gw.runtime)).activeKeyId).toBe('k1');

    expect(await rotateKey(gw.runtime, OPS)).toEqual({ from: 'k1', to: 'k2' });
    const late = person(seed++);
    const lateFlow = (await api(gw, 'POST', FACE, late)).body.data.flowId;
    const lateRow = await gw.runtime.store.db
      .selectFrom('flows')
      .select('name_enc')
      .where('id', '=', lateFlow)
      .executeTakeFirstOrThrow();
    expect(lateRow.name_enc).toMatch(/^k2\./);
    await expect(retireKey(gw.runtime, 'k1', OPS)).rejects.toThrow(/key "k1" still protects \d+ values/);
    await expect(retireKey(gw.runtime, 'k2', OPS)).rejects.toThrow('"k2" is the active key');

    const before = await keyStatus(gw.runtime);
    expect(before.remaining).toBeGreaterThan(0);
    // A bounded pass (as the background job does) makes progress; the rest follows.
    const partial = await reencrypt(gw.runtime, { maxBatches: 1 });
    expect(partial.done).toBe(false);
    const rest = await reencrypt(gw.runtime, { actor: OPS });
    expect(rest.done).toBe(true);
    expect(partial.moved.persons + rest.moved.persons).toBe(people.length);
    expect(partial.moved.flows + rest.moved.flows).toBe(people.length);
    expect(partial.moved.clients + rest.moved.clients).toBe(1);
    expect(await prefixes(gw)).toEqual(new Set(['k2']));
    const after = await keyStatus(gw.runtime);
    expect(after).toMatchObject({ activeKeyId: 'k2', remaining: 0 });
    expect(after.keys.find((k) => k.id === 'k1')).toEqual({
      id: 'k1',
      held: true,
      retired: false,
      values: 0,
      auditRows: 0,
    });
    // Nothing left to move: another pass moves nothing.
    expect((await reencrypt(gw.runtime, { restart: true })).moved).toEqual({
      persons: 0,
      flows: 0,
      clients: 0,
      audit: 0,
    });
    await retireKey(gw.runtime, 'k1', OPS);
    await gw.close();

    // The new key alone reads every flow and vouches for the whole audit trail.
    const only2 = await open(`k2:${K2}`);
    for (const [i, p] of [...people, late].entries()) {
      const q = await api(only2, 'GET', `${FACE}/${[...flows, lateFlow][i]}`);
      expect(q.status).toBe(200);
      expect(q.body.data.person).toEqual(masked(p));
    }
    expect(await verifyAudit(only2.runtime)).toMatchObject({ intact: true });
    await only2.close();

    // A process without the new key refuses to start (its check value is recorded); one with the
    // retired key alone too.
    await expect(open(`k1:${K1}`)).rejects.toThrow('encryption key "k2" is missing');
  });

  it.runIf(kind === 'sqlite')('rotates a key file from the CLI', async () => {
    const env = {
      DATA_DIR: tempDir('keys'),
      DATABASE_URL: `sqlite:${path.join(tempDir('keys-db'), 'db.sqlite')}`,
      NOTIFY_ALLOW_PRIVATE_NETWORKS: 'true',
    };
    const cli = (...args: string[]) => runCli(args, env);
    expect(await cli('client', 'create', 'acme', '--notify-url', 'http://127.0.0.1:9/hook')).toMatchObject({
      code: 0,
      stderr: '',
    });
    const file = path.join(env.DATA_DIR, 'keys.json');
    expect(Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')).encryptionKeys)).toEqual(['k1']);

    const rotated = await cli('keys', 'rotate');
    expect(rotated).toMatchObject({ code: 0, stderr: '' });
    expect(rotated.stdout).toBe(
      'active key: k2 (was k1); old values move over in the background (keys status)\n',
    );
    const keyFile = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(keyFile.activeKeyId).toBe('k2');
    expect(Object.keys(keyFile.encryptionKeys)).toEqual(['k1', 'k2']);
    expect((fs.statSync(file).mode & 0o777).toString(8)).toBe('600');

    const status = await cli('keys', 'status');
    expect(status.stdout).toMatch(/^active key: k2\n/);
    expect(status.stdout).toMatch(/\nk1\s+old\s+yes\s+1\s+\d+\n/);
    expect(status.stdout).toMatch(/\nre-encryption: \d+ left to move\n/);
    expect((await cli('keys', 'retire', 'k1')).stderr).toMatch(/^error: key "k1" still protects 1 values/);

    const moved = await cli('keys', 'reencrypt');
    expect(JSON.parse(moved.stdout)).toMatchObject({ activeKeyId: 'k2', done: true, moved: { clients: 1 } });
    expect((await cli('keys', 'status')).stdout).toMatch(/\nre-encryption: done\n/);
    expect(await cli('keys', 'retire', 'k1')).toMatchObject({ code: 0, stdout: 'retired k1\n' });
    expect(Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')).encryptionKeys)).toEqual(['k2']);
    expect((await cli('audit', 'verify')).code).toBe(0);
    expect((await cli('keys', 'generate', '--next')).stdout).toMatch(/^k3:[A-Za-z0-9+/]{43}=\n$/);
    const fresh = (await cli('keys', 'generate')).stdout.split('\n');
    expect(fresh).toHaveLength(3);
    expect(fresh[0]).toMatch(/^ENCRYPTION_KEYS=k1:[A-Za-z0-9+/]{43}=$/);
    expect(fresh[1]).toMatch(/^BLIND_INDEX_KEY=[A-Za-z0-9+/]{43}=$/);
  });
});
