import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { todayInShanghai, validateFaceRequest } from '../../src/domain/identity/index.js';
import { startJobs } from '../../src/jobs.js';
import { createWebhookSender } from '../../src/notify/sender.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import {
  createClient,
  rotateWebhookSecret,
  updateClientNotifyUrl,
} from '../../src/services/clients/admin.js';
import { completeSandboxFlow } from '../../src/services/flows/sandbox.js';
import { startFaceAuth } from '../../src/services/flows/start.js';
import { listDeliveries, redeliver } from '../../src/services/notifications/deliveries.js';
import { dispatchDueDeliveries } from '../../src/services/notifications/dispatch.js';
import { canDeliver } from '../../src/services/notifications/endpoint.js';
import * as clientStore from '../../src/store/client-store.js';
import * as deliveryStore from '../../src/store/delivery-store.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/databases.js';
import { sharedKeysEnv } from '../support/esign.js';
import { api, FACE, type TestGateway } from '../support/gateway.js';
import { type NotifyingGateway, startNotifyingGateway } from '../support/notifying-gateway.js';
import { LOG_DIR, recordSecret, tempDir } from '../support/paths.js';
import { person } from '../support/people.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

/** Services take a person the route has already validated. */
function validated(fields: unknown) {
  const r = validateFaceRequest(fields, { today: todayInShanghai(new Date()), minAge: 18 });
  if (!r.ok) throw new Error(`test person is invalid: ${r.errors.map((e) => e.code).join(',')}`);
  return r.value;
}

const BEIJING_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The dispatcher's own interval is long on purpose: a notification that arrives promptly was sent
 * because the status change woke the dispatcher, or because a retry came due.
 */
const NOTIFY_ENV = {
  NOTIFY_ALLOW_PRIVATE_NETWORKS: 'true',
  NOTIFY_RETRY_SCHEDULE: '0s,100ms,100ms',
  NOTIFY_TIMEOUT_MS: '500',
  NOTIFY_DISPATCH_INTERVAL_MS: '60000',
  RECONCILE_INTERVAL_MS: '600000',
};

describe.each(await storeKinds())('signed notifications to clients on %s', (kind) => {
  let setup: NotifyingGateway | undefined;
  let gw: TestGateway;
  let receiver: WebhookReceiver;
  let secret: string;
  let seed = 40_000 + (kind === 'postgres' ? 500 : 0);

  beforeAll(async () => {
    setup = await startNotifyingGateway(kind, NOTIFY_ENV);
    ({ gw, receiver, secret } = setup);
  });
  afterAll(async () => {
    await setup?.close();
  });
  beforeEach(() => {
    receiver.respond = () => 200;
    receiver.received.length = 0;
  });

  /** A pending sandbox flow of client `acme` (or of the client with `token`). */
  const newFlow = async (token = gw.token): Promise<string> => {
    const r = await api({ url: gw.url, token }, 'POST', FACE, person(seed++));
    expect(r.status).toBe(200);
    return r.body.data.flowId;
  };
  const deliveryOf = async (flowId: string) => deliveryStore.findDeliveryByFlow(gw.runtime.store.db, flowId);

  it('sends one signed face_auth.success when a sandbox flow passes, and nothing for a repeated result', async () => {
    const flowId = await newFlow();
    const started = Date.now();
    const { flow } = await completeSandboxFlow(gw.runtime, flowId, { success: true });
    const [hook] = await receiver.waitFor(1);
    if (!hook) throw new Error('no webhook');
    // The status change woke the dispatcher: its own interval is a minute.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(hook.path).toBe('/hooks/etc');
    expect(hook.headers['content-type']).toBe('application/json');
    expect(hook.headers['webhook-id']).toMatch(/^msg_[0-9A-Za-z]{24}$/);
    expect(Math.abs(Number(hook.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(10);
    expect(hook.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(hook.verifiedWith(secret)).toEqual([true]);
    expect(hook.json()).toEqual({
      type: 'face_auth.success',
      flowId,
      status: 'SUCCESS',
      esignAccountId: flow.account_id,
      occurredAt: expect.stringMatching(BEIJING_ISO),
    });

    const again = await completeSandboxFlow(gw.runtime, flowId, { success: true });
    expect(again.changed).toBe(false);
    await sleep(300);
    expect(receiver.received).toHaveLength(1);
    expect(await deliveryOf(flowId)).toMatchObject({
      id: hook.headers['webhook-id'],
      status: 'DELIVERED',
      attempts: 1,
      last_status: 200,
      last_error: null,
    });
  });

  it('sends face_auth.failed with the reason when the person fails', async () => {
    const flowId = await newFlow();
    await completeSandboxFlow(gw.runtime, flowId, { success: false, reason: '活体检测未通过' });
    const [hook] = await receiver.waitFor(1);
    expect(hook?.verifiedWith(secret)).toEqual([true]);
    expect(hook?.json()).toEqual({
      type: 'face_auth.failed',
      flowId,
      status: 'FAILED',
      failReason: '活体检测未通过',
      occurredAt: expect.stringMatching(BEIJING_ISO),
    });
  });

  it('queues nothing for a client without a notify URL', async () => {
    const quiet = await gw.newClient(`quiet-${kind}`);
    const flowId = await newFlow(quiet);
    const r = await completeSandboxFlow(gw.runtime, flowId, { success: true });
    expect(r.changed).toBe(true);
    await sleep(300);
    expect(await deliveryOf(flowId)).toBeUndefined();
    expect(receiver.received).toHaveLength(0);
  });

  it('retries a receiver that fails twice: three attempts, one webhook-id, valid signatures each time', async () => {
    receiver.respond = (n) => (n === 0 ? 500 : n === 1 ? 503 : 204);
    const flowId = await newFlow();
    await completeSandboxFlow(gw.runtime, flowId, { success: true });
    const hooks = await receiver.waitFor(3);
    await sleep(300);
    expect(receiver.received).toHaveLength(3);
    expect(new Set(hooks.map((h) => h.headers['webhook-id'])).size).toBe(1);
    expect(new Set(hooks.map((h) => h.body)).size).toBe(1);
    for (const h of hooks) expect(h.verifiedWith(secret)).toEqual([true]);
    expect(await deliveryOf(flowId)).toMatchObject({ status: 'DELIVERED', attempts: 3, last_status: 204 });
    const metrics = await gw.runtime.metrics.registry.getSingleMetricAsString(
      'etc_esign_webhook_deliveries_total',
    );
    expect(metrics).toMatch(/outcome="retrying"} [1-9]/);
    expect(metrics).toMatch(/outcome="delivered"} [1-9]/);
  });

  it('marks a delivery dead after the last scheduled attempt, and redelivers it with the same webhook-id', async () => {
    receiver.respond = () => 500;
    const flowId = await newFlow();
    await completeSandboxFlow(gw.runtime, flowId, { success: false, reason: '人脸比对未通过' });
    const hooks = await receiver.waitFor(3);
    await sleep(400);
    expect(receiver.received).toHaveLength(3);
    const dead = await deliveryOf(flowId);
    expect(dead).toMatchObject({ status: 'DEAD', attempts: 3, last_status: 500, last_error: 'HTTP 500' });
    const failed = await listDeliveries(gw.runtime, { failed: true });
    expect(failed.map((d) => d.id)).toContain(dead?.id);

    receiver.respond = () => 200;
    await redeliver(gw.runtime, dead?.id ?? '');
    const after = await receiver.waitFor(4);
    expect(after[3]?.headers['webhook-id']).toBe(hooks[0]?.headers['webhook-id']);
    expect(after[3]?.body).toBe(hooks[0]?.body);
    expect(after[3]?.verifiedWith(secret)).toEqual([true]);
    await sleep(200);
    expect(await deliveryOf(flowId)).toMatchObject({ status: 'DELIVERED', attempts: 1 });
  });

  it('treats a redirect as a failed attempt and never follows it', async () => {
    receiver.respond = (n) => (n === 0 ? { status: 307, location: `${receiver.url}/elsewhere` } : 200);
    const flowId = await newFlow();
    await completeSandboxFlow(gw.runtime, flowId, { success: true });
    const hooks = await receiver.waitFor(2);
    await sleep(300);
    expect(receiver.received.map((h) => h.path)).toEqual(['/hooks/etc', '/hooks/etc']);
    expect(hooks[0]?.headers['webhook-id']).toBe(hooks[1]?.headers['webhook-id']);
    expect(await deliveryOf(flowId)).toMatchObject({ status: 'DELIVERED', attempts: 2 });
  });

  it('gives up on an attempt after NOTIFY_TIMEOUT_MS and retries it', async () => {
    receiver.respond = (n) => (n === 0 ? 'hang' : 200);
    const flowId = await newFlow();
    const started = Date.now();
    await completeSandboxFlow(gw.runtime, flowId, { success: true });
    const hooks = await receiver.waitFor(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(hooks[0]?.headers['webhook-id']).toBe(hooks[1]?.headers['webhook-id']);
    await sleep(200);
    expect(await deliveryOf(flowId)).toMatchObject({ status: 'DELIVERED', attempts: 2 });
  });

  it('disables the endpoint on 410 Gone until the notify URL is set again', async () => {
    const name = `gone-${kind}`;
    const token = await gw.newClient(name);
    const gone = await startWebhookReceiver(() => 410);
    try {
      const configured = await updateClientNotifyUrl(gw.runtime, name, gone.url);
      recordSecret(configured.webhookSecret ?? '');
      const first = await newFlow(token);
      await completeSandboxFlow(gw.runtime, first, { success: true });
      await gone.waitFor(1);
      await sleep(300);
      expect(gone.received).toHaveLength(1);
      expect(await deliveryOf(first)).toMatchObject({ status: 'DEAD', attempts: 1, last_status: 410 });
      const client = await clientStore.findClientByName(gw.runtime.store.db, name);
      expect(client?.notify_disabled_at).toEqual(expect.any(Number));

      // Later results are kept, dead, for an operator to redeliver; nothing is sent meanwhile.
      const second = await newFlow(token);
      await completeSandboxFlow(gw.runtime, second, { success: false, reason: '用户取消认证' });
      await sleep(300);
      expect(gone.received).toHaveLength(1);
      const kept = await deliveryOf(second);
      expect(kept).toMatchObject({ status: 'DEAD', attempts: 0 });
      await expect(redeliver(gw.runtime, kept?.id ?? '')).rejects.toMatchObject({ kind: 'conflict' });

      gone.respond = () => 200;
      const updated = await updateClientNotifyUrl(gw.runtime, name, gone.url);
      expect(updated).not.toHaveProperty('webhookSecret');
      await redeliver(gw.runtime, kept?.id ?? '');
      const [, again] = await gone.waitFor(2);
      expect(again?.verifiedWith(configured.webhookSecret ?? '')).toEqual([true]);
      expect(again?.json()).toMatchObject({ type: 'face_auth.failed', flowId: second });
    } finally {
      await gone.close();
    }
  });

  it('signs with both secrets after a rotation, for the grace period only', async () => {
    const name = `rotating-${kind}`;
    const token = await gw.newClient(name);
    const rx = await startWebhookReceiver();
    try {
      const old = (await updateClientNotifyUrl(gw.runtime, name, rx.url)).webhookSecret ?? '';
      recordSecret(old);
      const rotated = await rotateWebhookSecret(gw.runtime, name);
      recordSecret(rotated.webhookSecret);
      expect(rotated.webhookSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(rotated.webhookSecret.slice(6), 'base64')).toHaveLength(32);
      expect(rotated.previousSecretValidUntil).toBeGreaterThan(Date.now() + 23 * 3_600_000);

      const flowId = await newFlow(token);
      await completeSandboxFlow(gw.runtime, flowId, { success: true });
      const [hook] = await rx.waitFor(1);
      expect(hook?.headers['webhook-signature']?.split(' ')).toHaveLength(2);
      expect(hook?.verifiedWith(rotated.webhookSecret, old, secret)).toEqual([true, true, false]);

      const client = await clientStore.findClientByName(gw.runtime.store.db, name);
      if (!client) throw new Error('client vanished');
      expect(canDeliver(gw.runtime, client, Date.now())).toMatchObject({
        ok: true,
        secrets: [rotated.webhookSecret, old],
      });
      expect(canDeliver(gw.runtime, client, Date.now() + 25 * 3_600_000)).toMatchObject({
        ok: true,
        secrets: [rotated.webhookSecret],
      });
    } finally {
      await rx.close();
    }
  });

  it('reports the age of the oldest pending delivery', async () => {
    const flowId = await newFlow();
    const client = await clientStore.findClientByName(gw.runtime.store.db, 'acme');
    const now = Date.now();
    await deliveryStore.insertDelivery(gw.runtime.store.db, {
      id: `msg_gauge${kind}`,
      client_id: client?.id ?? '',
      flow_id: flowId,
      type: 'face_auth.expired',
      payload: '{}',
      status: 'PENDING',
      attempts: 0,
      // Not due for an hour, so the running dispatcher leaves it alone.
      next_attempt_at: now + 3_600_000,
      claimed_until: null,
      claim_id: null,
      last_attempt_at: null,
      last_status: null,
      last_error: null,
      created_at: now - 120_000,
      delivered_at: null,
    });
    const text = await gw.runtime.metrics.registry.getSingleMetricAsString(
      'etc_esign_webhook_oldest_pending_seconds',
    );
    const value = Number(/^etc_esign_webhook_oldest_pending_seconds (\S+)$/m.exec(text)?.[1]);
    expect(value).toBeGreaterThanOrEqual(120);
    expect(value).toBeLessThan(200);
    await gw.runtime.store.db.deleteFrom('deliveries').where('id', '=', `msg_gauge${kind}`).execute();
  });
});

describe.each(await storeKinds())('two dispatchers on one %s database', (kind) => {
  let db: TestDatabase;
  const runtimes: Runtime[] = [];
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    receiver = await startWebhookReceiver();
    const config = loadConfig({
      DATABASE_URL: db.url,
      DATA_DIR: tempDir('dispatch'),
      ...NOTIFY_ENV,
      // Processes sharing a PostgreSQL database are given their keys; none is made for them.
      ...sharedKeysEnv(),
    });
    const logger = pino(
      { level: 'info' },
      pino.destination({
        dest: `${LOG_DIR}/dispatch-${kind}-${process.pid}.ndjson`,
        mkdir: true,
        sync: true,
      }),
    );
    runtimes.push(await createRuntime(config, logger));
    runtimes.push(await createRuntime(config, logger));
    // A third process whose attempts would wait ten seconds for an answer.
    runtimes.push(
      await createRuntime({ ...config, notify: { ...config.notify, timeoutMs: 10_000 } }, logger),
    );
  });
  afterAll(async () => {
    for (const rt of runtimes) await rt.close();
    await receiver?.close();
    await db?.drop();
  });

  it('sends each of 30 notifications exactly once between them', async () => {
    const [a, b] = runtimes as [Runtime, Runtime];
    const created = await createClient(a, 'pair', { notifyUrl: receiver.url });
    recordSecret(created.webhookSecret ?? '');
    const clientId = created.id;
    const flowIds: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await startFaceAuth(
        a,
        clientId,
        validated(person(41_000 + i + (kind === 'postgres' ? 100 : 0))),
      );
      if (r.outcome !== 'created') throw new Error('expected a new flow');
      flowIds.push(r.flowId);
    }
    for (const [i, id] of flowIds.entries()) await completeSandboxFlow(i % 2 ? a : b, id, { success: true });

    const sa = createWebhookSender({ allowPrivateNetworks: true, timeoutMs: 2000 });
    const sb = createWebhookSender({ allowPrivateNetworks: true, timeoutMs: 2000 });
    try {
      const attempts = await Promise.all([
        dispatchDueDeliveries(a, sa),
        dispatchDueDeliveries(b, sb),
        dispatchDueDeliveries(a, sa),
        dispatchDueDeliveries(b, sb),
      ]);
      expect(attempts.reduce((x, y) => x + y, 0)).toBe(30);
    } finally {
      await Promise.all([sa.close(), sb.close()]);
    }
    const ids = receiver.received.map((h) => h.headers['webhook-id']);
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
    expect(new Set(receiver.received.map((h) => h.json().flowId))).toEqual(new Set(flowIds));
    const all = await listDeliveries(a, { client: 'pair' });
    expect(all.map((d) => `${d.status}/${d.attempts}`)).toEqual(Array(30).fill('DELIVERED/1'));
  });

  it('stopping the jobs aborts an attempt in flight and hands the delivery back uncounted', async () => {
    const rt = runtimes[2] as Runtime;
    const hanging = await startWebhookReceiver(() => 'hang');
    try {
      const created = await createClient(rt, 'patient', { notifyUrl: hanging.url });
      recordSecret(created.webhookSecret ?? '');
      const r = await startFaceAuth(
        rt,
        created.id,
        validated(person(41_500 + (kind === 'postgres' ? 100 : 0))),
      );
      if (r.outcome !== 'created') throw new Error('expected a new flow');
      const stop = startJobs(rt);
      await completeSandboxFlow(rt, r.flowId, { success: true });
      await hanging.waitFor(1);
      const t0 = Date.now();
      await stop();
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(await deliveryStore.findDeliveryByFlow(rt.store.db, r.flowId)).toMatchObject({
        status: 'PENDING',
        attempts: 0,
        claim_id: null,
        claimed_until: null,
      });
    } finally {
      await hanging.close();
    }
  });
});
