import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeEsign, FakeFlow } from '../../src/fake-esign/server.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { expireDueFlows, reconcileFlows } from '../../src/services/flows/reconcile.js';
import * as deliveryStore from '../../src/store/delivery-store.js';
import { storeKinds } from '../support/databases.js';
import { startFake } from '../support/esign.js';
import { api, FACE, type TestGateway } from '../support/gateway.js';
import { type NotifyingGateway, startNotifyingGateway } from '../support/notifying-gateway.js';
import { person } from '../support/people.js';
import type { WebhookReceiver } from '../support/webhook-receiver.js';

const BEIJING_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const detailPath = (flowId: string) => `/v2/identity/auth/api/common/${flowId}/detail`;

describe.each(await storeKinds())('reconciliation with the fake e签宝 on %s', (kind) => {
  let fake: FakeEsign;
  let setup: NotifyingGateway | undefined;
  let gw: TestGateway;
  let receiver: WebhookReceiver;
  let secret: string;
  let seed = 42_000 + (kind === 'postgres' ? 500 : 0);

  beforeAll(async () => {
    const upstream = await startFake();
    fake = upstream.fake;
    setup = await startNotifyingGateway(kind, {
      ...upstream.env,
      NOTIFY_ALLOW_PRIVATE_NETWORKS: 'true',
      NOTIFY_RETRY_SCHEDULE: '0s,100ms',
      NOTIFY_DISPATCH_INTERVAL_MS: '50',
      // Reconciliation and the expiry sweep run when a test says so.
      RECONCILE_INTERVAL_MS: '600000',
      SWEEP_INTERVAL_MS: '600000',
      ESIGN_REQUEST_TIMEOUT_MS: '1000',
    });
    ({ gw, receiver, secret } = setup);
  });
  afterAll(async () => {
    await setup?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.script.clear();
    receiver.received.length = 0;
  });

  /** Starts a flow through the API; returns our flow id and e签宝's flow. */
  const start = async (): Promise<{ flowId: string; upstream: FakeFlow }> => {
    const r = await api(gw, 'POST', FACE, person(seed++));
    expect(r.status).toBe(200);
    const upstream = [...fake.flows.values()].find((f) => f.contextId === r.body.data.flowId);
    if (!upstream) throw new Error('no upstream flow');
    return { flowId: r.body.data.flowId, upstream };
  };
  /** A flow whose e签宝 link expires a few seconds after it starts; resolves once it has expired. */
  const startExpiring = async (beforeExpiry?: (upstream: FakeFlow) => void) => {
    const expireAt = Date.now() + 3000;
    fake.script.once('face', { kind: 'patch', data: { expire: expireAt } });
    const started = await start();
    beforeExpiry?.(started.upstream);
    await sleep(expireAt - Date.now() + 100);
    return started;
  };
  const status = async (flowId: string) => (await api(gw, 'GET', `${FACE}/${flowId}`)).body.data;
  const hooksFor = (flowId: string) => receiver.received.filter((h) => h.json().flowId === flowId);

  it('finds a success e签宝 never pushed and notifies the client', async () => {
    const { flowId, upstream } = await start();
    fake.completeFlow(upstream.flowId, { success: true });
    const summary = await reconcileFlows(gw.runtime);
    expect(summary.success).toBe(1);
    expect(await status(flowId)).toMatchObject({ status: 'SUCCESS', esignAccountId: upstream.accountId });
    const [hook] = await receiver.waitFor(1);
    expect(hook?.verifiedWith(secret)).toEqual([true]);
    expect(hook?.json()).toEqual({
      type: 'face_auth.success',
      flowId,
      status: 'SUCCESS',
      esignAccountId: upstream.accountId,
      occurredAt: expect.stringMatching(BEIJING_ISO),
    });
  });

  it('finds a failure, which e签宝 does not push by default', async () => {
    const { flowId, upstream } = await start();
    fake.completeFlow(upstream.flowId, { success: false, failReason: '非本人操作' });
    expect((await reconcileFlows(gw.runtime)).failed).toBe(1);
    expect(await status(flowId)).toMatchObject({ status: 'FAILED', failReason: '非本人操作' });
    const [hook] = await receiver.waitFor(1);
    expect(hook?.verifiedWith(secret)).toEqual([true]);
    expect(hook?.json()).toMatchObject({ type: 'face_auth.failed', flowId, failReason: '非本人操作' });
  });

  it('notifies once when both the callback and reconciliation report the same result', async () => {
    const { flowId, upstream } = await start();
    fake.completeFlow(upstream.flowId, { success: true });
    expect(await fake.sendCallback(upstream.flowId)).toBe(200);
    expect(await fake.sendCallback(upstream.flowId)).toBe(200);
    await reconcileFlows(gw.runtime);
    await receiver.waitFor(1);
    await sleep(300);
    expect(hooksFor(flowId)).toHaveLength(1);
    expect(hooksFor(flowId)[0]?.verifiedWith(secret)).toEqual([true]);
  });

  it('records that the person opened the face page, and leaves the flow pending', async () => {
    const { flowId, upstream } = await start();
    fake.openFlow(upstream.flowId);
    // Before the face step e签宝's detail has no record (30503055); the face status then says SCAN.
    fake.script.always('detail', { kind: 'error', code: 30503055, message: '无刷脸记录' });
    expect((await reconcileFlows(gw.runtime)).opened).toBeGreaterThanOrEqual(1);
    const s = await status(flowId);
    expect(s.status).toBe('PENDING');
    expect(s.openedAt).toMatch(BEIJING_ISO);
    expect(hooksFor(flowId)).toHaveLength(0);
  });

  it('expires a flow past its expiry once e签宝 confirms it never finished, and notifies', async () => {
    const { flowId } = await startExpiring();
    expect((await reconcileFlows(gw.runtime)).expired).toBe(1);
    expect((await status(flowId)).status).toBe('EXPIRED');
    const [hook] = await receiver.waitFor(1);
    expect(hook?.verifiedWith(secret)).toEqual([true]);
    expect(hook?.json()).toEqual({
      type: 'face_auth.expired',
      flowId,
      status: 'EXPIRED',
      occurredAt: expect.stringMatching(BEIJING_ISO),
    });
  });

  it('asks before expiring: a result reached just before expiry wins over EXPIRED', async () => {
    const { flowId } = await startExpiring((upstream) =>
      fake.completeFlow(upstream.flowId, { success: true }),
    );
    expect(await expireDueFlows(gw.runtime)).toBe(0);
    expect((await status(flowId)).status).toBe('SUCCESS');
    const [hook] = await receiver.waitFor(1);
    expect(hook?.json()).toMatchObject({ type: 'face_auth.success', flowId });
  });

  it('keeps an expired flow pending while e签宝 cannot be asked', async () => {
    const { flowId } = await startExpiring();
    fake.script.always('detail', { kind: 'http', status: 503, body: 'busy' });
    expect(await expireDueFlows(gw.runtime)).toBe(0);
    const stored = await gw.runtime.store.db
      .selectFrom('flows')
      .select('status')
      .where('id', '=', flowId)
      .executeTakeFirst();
    expect(stored?.status).toBe('PENDING');
    expect(await deliveryStore.findDeliveryByFlow(gw.runtime.store.db, flowId)).toBeUndefined();
  });

  it('two processes reconciling at once ask e签宝 about each flow once', async () => {
    const started = [];
    for (let i = 0; i < 12; i++) started.push(await start());
    for (const s of started.slice(0, 6)) fake.completeFlow(s.upstream.flowId, { success: true });
    const other: Runtime = await createRuntime(gw.config, gw.runtime.logger);
    try {
      const before = fake.requests.length;
      await Promise.all([reconcileFlows(gw.runtime), reconcileFlows(other), reconcileFlows(gw.runtime)]);
      const asked = fake.requests.slice(before).map((r) => r.path);
      for (const s of started)
        expect(asked.filter((p) => p === detailPath(s.upstream.flowId))).toHaveLength(1);
    } finally {
      await other.close();
    }
    const hooks = await receiver.waitFor(6);
    await sleep(300);
    expect(receiver.received).toHaveLength(6);
    expect(new Set(hooks.map((h) => h.json().flowId))).toEqual(
      new Set(started.slice(0, 6).map((s) => s.flowId)),
    );
  });
});
