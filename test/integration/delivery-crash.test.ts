import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-run.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/databases.js';
import { sharedKeysEnv } from '../support/esign.js';
import { api, FACE, freePort } from '../support/gateway.js';
import { recordSecret, tempDir } from '../support/paths.js';
import { person } from '../support/people.js';
import { type GatewayProcess, spawnGateway } from '../support/process.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Each test starts processes and runs several CLI commands: slow on a loaded machine. */
const PROCESS_TEST_MS = 120_000;

/**
 * The real built gateway in its own process, killed with SIGKILL between a committed status change
 * and the delivery of its notification: after a restart the notification still arrives, with the
 * same webhook-id.
 */
describe.each(await storeKinds())('notifications across a killed gateway process on %s', (kind) => {
  let db: TestDatabase;
  let receiver: WebhookReceiver;
  let env: Record<string, string>;
  let port: number;
  let token: string;
  let secret: string;
  let seed = 43_000 + (kind === 'postgres' ? 500 : 0);
  const running: GatewayProcess[] = [];

  const cli = async (...args: string[]) => {
    const r = await runCli(args, env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.stdout;
  };
  const serve = async (extra: Record<string, string> = {}) => {
    const gw = await spawnGateway({ ...env, ...extra }, { port });
    running.push(gw);
    return gw;
  };
  /** Starts a sandbox flow and passes it on the sandbox page, as the person would. */
  const passOnPage = async (gw: GatewayProcess): Promise<string> => {
    const started = await api({ url: gw.url, token }, 'POST', FACE, person(seed++));
    expect(started.status).toBe(200);
    const res = await fetch(started.body.data.originalUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'consent=yes&result=success',
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    return started.body.data.flowId;
  };
  const deliveries = async (...flags: string[]) =>
    (await cli('delivery', 'list', ...flags)).trimEnd().split('\n').slice(1);

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    receiver = await startWebhookReceiver();
    port = await freePort();
    env = {
      DATA_DIR: tempDir('crash'),
      DATABASE_URL: db.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      NOTIFY_ALLOW_PRIVATE_NETWORKS: 'true',
      NOTIFY_RETRY_SCHEDULE: '0s,200ms,200ms',
      NOTIFY_TIMEOUT_MS: '1000',
      NOTIFY_DISPATCH_INTERVAL_MS: '100',
      // PostgreSQL processes are given their keys; none is made for them.
      ...(kind === 'postgres' ? sharedKeysEnv() : {}),
    };
    await cli('migrate');
    const created = JSON.parse(await cli('client', 'create', 'acme', '--notify-url', receiver.url));
    secret = created.webhookSecret;
    recordSecret(secret);
    expect(created).toMatchObject({ name: 'acme', notifyUrl: receiver.url });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const made = await runCli(['token', 'create', '--client', 'acme'], env);
    expect(made.code).toBe(0);
    token = made.stdout.trimEnd();
    recordSecret(token);
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((gw) => gw.stop('SIGKILL')));
    receiver.received.length = 0;
    receiver.respond = () => 200;
  });
  afterAll(async () => {
    await receiver?.close();
    await db?.drop();
  });

  it(
    'SIGKILL while the receiver holds the first attempt open: the restarted gateway sends it again',
    async () => {
      receiver.respond = (n) => (n === 0 ? 'hang' : 200);
      const first = await serve();
      const flowId = await passOnPage(first);
      const [held] = await receiver.waitFor(1);
      expect(await first.stop('SIGKILL')).toBeNull();

      // The status change was committed before the kill; its delivery is still pending.
      expect(JSON.parse(await cli('flow', 'show', flowId)).status).toBe('SUCCESS');
      const pending = await deliveries();
      expect(pending).toHaveLength(1);
      expect(pending[0]?.split(/\s+/).slice(0, 6)).toEqual([
        held?.headers['webhook-id'],
        'acme',
        flowId,
        'face_auth.success',
        'PENDING',
        '0',
      ]);

      await serve();
      const [, again] = await receiver.waitFor(2, 20_000);
      expect(again?.headers['webhook-id']).toBe(held?.headers['webhook-id']);
      expect(again?.body).toBe(held?.body);
      expect(again?.verifiedWith(secret)).toEqual([true]);
      expect(again?.json()).toMatchObject({ type: 'face_auth.success', flowId, status: 'SUCCESS' });
      await sleep(500);
      expect(receiver.received).toHaveLength(2);
      expect((await deliveries())[0]?.split(/\s+/).slice(4, 6)).toEqual(['DELIVERED', '1']);
    },
    PROCESS_TEST_MS,
  );

  it(
    'SIGKILL before the dispatcher ran: the restarted gateway delivers the queued notification',
    async () => {
      // This gateway's dispatcher sleeps ten minutes after its first pass, and the result is applied
      // by another process (the CLI), so nothing wakes it before the kill.
      const first = await serve({ NOTIFY_DISPATCH_INTERVAL_MS: '600000' });
      const started = await api({ url: first.url, token }, 'POST', FACE, person(seed++));
      const flowId: string = started.body.data.flowId;
      expect((await cli('sandbox', 'complete', flowId, '--fail', '人脸比对未通过')).trim()).toBe(
        `${flowId} FAILED`,
      );
      await sleep(500);
      expect(receiver.received).toHaveLength(0);
      await first.stop('SIGKILL');

      await serve();
      const [hook] = await receiver.waitFor(1, 20_000);
      expect(hook?.verifiedWith(secret)).toEqual([true]);
      expect(hook?.json()).toMatchObject({
        type: 'face_auth.failed',
        flowId,
        status: 'FAILED',
        failReason: '人脸比对未通过',
      });
      await sleep(300);
      expect(receiver.received).toHaveLength(1);
    },
    PROCESS_TEST_MS,
  );

  it(
    'a receiver that fails twice then succeeds sees three attempts, one webhook-id, valid signatures',
    async () => {
      receiver.respond = (n) => (n === 0 ? 500 : n === 1 ? 502 : 200);
      const gw = await serve();
      const flowId = await passOnPage(gw);
      const hooks = await receiver.waitFor(3, 20_000);
      await sleep(500);
      expect(receiver.received).toHaveLength(3);
      expect(new Set(hooks.map((h) => h.headers['webhook-id'])).size).toBe(1);
      for (const h of hooks) {
        expect(h.verifiedWith(secret)).toEqual([true]);
        expect(h.json()).toMatchObject({ type: 'face_auth.success', flowId });
      }
      const row = (await deliveries()).find((l) => l.includes(flowId))?.split(/\s+/) ?? [];
      expect(row.slice(4, 6)).toEqual(['DELIVERED', '3']);
      expect((await deliveries('--failed')).some((l) => l.includes(flowId))).toBe(false);

      // Redelivery on request: same webhook-id again.
      expect((await cli('delivery', 'redeliver', row[0] ?? '')).trim()).toBe(`queued ${row[0]}`);
      const [, , , again] = await receiver.waitFor(4, 20_000);
      expect(again?.headers['webhook-id']).toBe(row[0]);
      expect(again?.verifiedWith(secret)).toEqual([true]);
    },
    PROCESS_TEST_MS,
  );

  it(
    'client update and rotate-secret: the new secret signs beside the old one',
    async () => {
      const updated = JSON.parse(await cli('client', 'update', 'acme', '--notify-url', receiver.url));
      // The client has a secret already: it is not shown again.
      expect(updated).toEqual({ id: expect.any(String), name: 'acme', notifyUrl: receiver.url });
      const rotated = JSON.parse(await cli('client', 'rotate-secret', 'acme'));
      recordSecret(rotated.webhookSecret);
      expect(rotated).toEqual({
        id: updated.id,
        name: 'acme',
        webhookSecret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
        previousSecretValidUntil: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/),
      });
      expect(rotated.webhookSecret).not.toBe(secret);

      const gw = await serve();
      await passOnPage(gw);
      const [hook] = await receiver.waitFor(1, 20_000);
      expect(hook?.headers['webhook-signature']?.split(' ')).toHaveLength(2);
      expect(hook?.verifiedWith(rotated.webhookSecret, secret)).toEqual([true, true]);

      const bad = await runCli(['client', 'update', 'acme', '--notify-url', 'ftp://127.0.0.1/x'], env);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toBe('error: notify URL must use https: or http:\n');
      const strict = await runCli(['client', 'update', 'acme', '--notify-url', receiver.url], {
        ...env,
        NOTIFY_ALLOW_PRIVATE_NETWORKS: 'false',
      });
      expect(strict.code).toBe(1);
      expect(strict.stderr).toBe(
        'error: notify URL must use https:\nFor local development, NOTIFY_ALLOW_PRIVATE_NETWORKS=true allows http:// and private addresses.\n',
      );
    },
    PROCESS_TEST_MS,
  );
});
