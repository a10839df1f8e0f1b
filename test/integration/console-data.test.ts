import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskIdNumber, maskMobile, maskName } from '../../src/domain/identity/index.js';
import { expireDueFlows } from '../../src/services/flows/reconcile.js';
import { completeSandboxFlow } from '../../src/services/flows/sandbox.js';
import * as deliveryStore from '../../src/store/delivery-store.js';
import { readStats, recountFlowStats, type StatDelta } from '../../src/store/stats-store.js';
import { type ConsoleClient, type ConsoleResponse, operatorSession } from '../support/console-client.js';
import { createTestDatabase, type StoreKind, storeKinds, type TestDatabase } from '../support/databases.js';
import { api, FACE, startGateway, type TestGateway } from '../support/gateway.js';
import { type NotifyingGateway, startNotifyingGateway } from '../support/notifying-gateway.js';
import { recordSecret } from '../support/paths.js';
import { person, type TestPerson } from '../support/people.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const envelope = (r: ConsoleResponse, code: number, msg: string, data: unknown = null) =>
  expect({ status: r.status, body: r.body }).toEqual({
    status: code,
    body: {
      requestId: r.headers.get('x-request-id'),
      responseCode: code === 200 ? '000' : String(code),
      responseMsg: msg,
      data,
    },
  });
const masked = (p: TestPerson) => ({
  name: maskName(p.name),
  idNumber: maskIdNumber(p.idNumber),
  mobile: maskMobile(p.mobile),
});
const noClearValues = (text: string, p: TestPerson) => {
  for (const v of [p.name, p.idNumber, p.mobile, p.validPeriod]) expect(text).not.toContain(v);
};

describe.each(await storeKinds())('console data on %s', (kind: StoreKind) => {
  let setup: NotifyingGateway | undefined;
  let gw: TestGateway;
  let admin: ConsoleClient;
  let viewer: ConsoleClient;
  let seed = 61_000 + (kind === 'postgres' ? 500 : 0);
  const newFlow = async (p: TestPerson) => {
    const r = await api(gw, 'POST', FACE, p);
    expect(r.status).toBe(200);
    return r.body.data as { flowId: string; authUrl: string };
  };

  beforeAll(async () => {
    setup = await startNotifyingGateway(kind, {
      NOTIFY_ALLOW_PRIVATE_NETWORKS: 'true',
      NOTIFY_RETRY_SCHEDULE: '0s,50ms,50ms',
      NOTIFY_TIMEOUT_MS: '500',
    });
    gw = setup.gw;
    admin = await operatorSession(gw.runtime, gw.url, 'ops', 'admin');
    viewer = await operatorSession(gw.runtime, gw.url, 'watcher', 'viewer');
  });
  afterAll(async () => setup?.close());

  it('finds flows by ID number, mobile and flow id, and shows a viewer masked data only', async () => {
    const p = person(seed++);
    const other = person(seed++);
    const { flowId } = await newFlow(p);
    await newFlow(other);
    const summary = {
      flowId,
      clientId: expect.any(String),
      clientName: 'acme',
      provider: 'sandbox',
      status: 'PENDING',
      createdAt: expect.stringMatching(/\+08:00$/),
      openedAt: null,
      completedAt: null,
      person: masked(p),
    };
    for (const query of [
      { idNumber: p.idNumber },
      { mobile: p.mobile },
      { flowId },
      { mobile: `+86 ${p.mobile}` },
    ]) {
      const r = await viewer.call('POST', '/flows/search', query);
      envelope(r, 200, '成功', { items: [summary], nextCursor: null });
      noClearValues(r.text, p);
    }
    const nobody = person(seed++);
    envelope(await viewer.call('POST', '/flows/search', { idNumber: nobody.idNumber }), 200, '成功', {
      items: [],
      nextCursor: null,
    });
    const page = await viewer.call('POST', '/flows/search', { limit: 1 });
    expect(page.body.data.items).toHaveLength(1);
    const next = await viewer.call('POST', '/flows/search', { limit: 1, cursor: page.body.data.nextCursor });
    expect(next.body.data.items[0].flowId).not.toBe(page.body.data.items[0].flowId);

    const detail = await viewer.call('GET', `/flows/${flowId}`);
    expect(detail.status).toBe(200);
    expect(detail.body.data.flow.person).toEqual(masked(p));
    expect(detail.body.data.timeline).toEqual([
      { at: summary.createdAt && expect.any(String), kind: 'created' },
    ]);
    noClearValues(detail.text, p);
    envelope(await viewer.call('GET', '/flows/00000000-0000-4000-8000-000000000000'), 404, '认证流程不存在');
    envelope(await viewer.call('GET', '/flows/not-a-flow'), 404, '认证流程不存在');
  });

  it('reveals a flow to an admin who gives a reason, and records it in the audit trail', async () => {
    const p = person(seed++);
    const { flowId } = await newFlow(p);
    envelope(await admin.call('POST', `/flows/${flowId}/reveal`, { reason: '' }), 400, '请求参数错误', {
      errors: [{ field: 'reason', code: 'TOO_SHORT', message: '长度不能少于4个字符' }],
    });
    envelope(
      await admin.call('POST', `/flows/${flowId}/reveal`, { reason: '  核对 ' }),
      400,
      '请求参数错误',
      {
        errors: [{ field: 'reason', code: 'TOO_SHORT', message: '请填写查看原因（至少4个字）' }],
      },
    );
    envelope(
      await admin.call('POST', '/flows/00000000-0000-4000-8000-000000000000/reveal', {
        reason: '核对用户身份',
      }),
      404,
      '认证流程不存在',
    );
    envelope(await admin.call('POST', `/flows/${flowId}/reveal`, { reason: '核对用户身份' }), 200, '成功', {
      name: p.name,
      idNumber: p.idNumber,
      mobile: p.mobile,
      validPeriod: p.validPeriod,
    });
    const audit = await admin.call('GET', `/audit?action=flow.reveal&target=${flowId}`);
    envelope(audit, 200, '成功', {
      items: [
        {
          id: expect.stringMatching(/^\d+$/),
          at: expect.stringMatching(/\+08:00$/),
          actor: 'ops',
          action: 'flow.reveal',
          target: flowId,
          reason: '核对用户身份',
        },
      ],
      nextCursor: null,
    });
    const reads = await admin.call('GET', `/audit?actor=watcher&action=flow.search`);
    expect(reads.body.data.items.length).toBeGreaterThan(0);
  });

  it('tells a flow’s story with every delivery attempt, and redelivers a dead delivery', async () => {
    const receiver = setup?.receiver;
    if (!receiver) throw new Error('no receiver');
    receiver.respond = () => 500;
    const { flowId, authUrl } = await newFlow(person(seed++));
    expect((await fetch(authUrl, { redirect: 'manual' })).status).toBe(302);
    await completeSandboxFlow(gw.runtime, flowId, { success: true });
    let delivery = await deliveryStore.findDeliveryByFlow(gw.runtime.store.db, flowId);
    for (let i = 0; i < 100 && delivery?.status !== 'DEAD'; i++) {
      await sleep(50);
      delivery = await deliveryStore.findDeliveryByFlow(gw.runtime.store.db, flowId);
    }
    expect(delivery?.status).toBe('DEAD');
    const id = delivery?.id ?? '';

    const dead = await viewer.call('GET', '/deliveries?status=dead');
    expect(dead.body.data.items.map((d: { deliveryId: string }) => d.deliveryId)).toContain(id);
    const detail = await viewer.call('GET', `/flows/${flowId}`);
    expect(detail.body.data.timeline.map((e: { kind: string }) => e.kind)).toEqual([
      'created',
      'opened',
      'result',
      'delivery_attempt',
      'delivery_attempt',
      'delivery_attempt',
    ]);
    expect(detail.body.data.timeline[2]).toMatchObject({ kind: 'result', status: 'SUCCESS' });
    expect(detail.body.data.timeline.slice(3)).toEqual(
      [1, 2, 3].map((attempt) => ({
        at: expect.any(String),
        kind: 'delivery_attempt',
        deliveryId: id,
        attempt,
        httpStatus: 500,
        latencyMs: expect.any(Number),
        error: 'HTTP 500',
      })),
    );

    envelope(await viewer.call('POST', `/deliveries/${id}/redeliver`), 403, '需要管理员权限');
    envelope(await admin.call('POST', '/deliveries/msg_nothing/redeliver'), 404, '投递记录不存在');
    receiver.respond = () => 200;
    receiver.received.length = 0;
    const again = await admin.call('POST', `/deliveries/${id}/redeliver`);
    expect(again.status).toBe(200);
    expect(again.body.data).toMatchObject({ deliveryId: id, flowId });
    // Queued again from the start; the woken dispatcher may already have delivered it.
    expect(['PENDING:0', 'DELIVERED:1']).toContain(`${again.body.data.status}:${again.body.data.attempts}`);
    await receiver.waitFor(1);
    const audit = await admin.call('GET', `/audit?action=delivery.redeliver&target=${id}`);
    expect(audit.body.data.items).toMatchObject([{ actor: 'ops', action: 'delivery.redeliver', target: id }]);
  });

  it('creates a client and a token that works, revokes it, rotates the secret; all audited', async () => {
    const created = await admin.call('POST', '/clients', { name: `made-${kind}` });
    expect(created.status).toBe(200);
    expect(created.body.data).toMatchObject({
      client: { name: `made-${kind}`, notifyUrl: null, hasWebhookSecret: false, activeTokens: 0 },
      webhookSecret: null,
    });
    const clientId = created.body.data.client.clientId;
    envelope(await admin.call('POST', '/clients', { name: `made-${kind}` }), 409, '客户端名称已存在');
    envelope(await admin.call('POST', '/tokens', { clientId: 'nope' }), 404, '客户端不存在');

    const token = await admin.call('POST', '/tokens', { clientId, ttlDays: 30 });
    expect(token.status).toBe(200);
    const value: string = token.body.data.value;
    recordSecret(value);
    expect(value).toMatch(/^[0-9A-Za-z]{32}$/);
    // The prefix tells a leaked token's row apart; it is the token's start, never more of it.
    expect(token.body.data.token.prefix === value.slice(0, 4)).toBe(true);
    const listed = await admin.call('GET', `/tokens?clientId=${clientId}`);
    const row = listed.body.data.items.find(
      (t: { tokenId: string }) => t.tokenId === token.body.data.token.tokenId,
    );
    expect(row.prefix === value.slice(0, 4)).toBe(true);
    const client = { url: gw.url, token: value };
    expect((await api(client, 'GET', `${FACE}/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    const revoked = await admin.call('POST', `/tokens/${token.body.data.token.tokenId}/revoke`);
    expect(revoked.body.data.revokedAt).toMatch(/\+08:00$/);
    expect((await api(client, 'GET', `${FACE}/00000000-0000-4000-8000-000000000000`)).status).toBe(401);
    envelope(await admin.call('POST', '/tokens/tok_nothing/revoke'), 404, '令牌不存在');

    const receiverUrl = setup?.receiver.url ?? '';
    const notify = await admin.call('PUT', `/clients/${clientId}/notify-url`, { notifyUrl: receiverUrl });
    expect(notify.body.data.webhookSecret).toMatch(/^whsec_/);
    recordSecret(notify.body.data.webhookSecret);
    const rotated = await admin.call('POST', `/clients/${clientId}/webhook-secret`);
    expect(rotated.body.data.webhookSecret).toMatch(/^whsec_/);
    recordSecret(rotated.body.data.webhookSecret);
    expect(rotated.body.data.webhookSecret).not.toBe(notify.body.data.webhookSecret);

    const audit = await admin.call('GET', `/audit?actor=ops&target=${clientId}`);
    expect(audit.body.data.items.map((e: { action: string }) => e.action)).toEqual([
      'client.rotate-secret',
      'client.update',
      'token.create',
      'client.create',
    ]);
  });
});

describe.each(await storeKinds())('hourly statistics on %s', (kind: StoreKind) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let admin: ConsoleClient;
  const seed = 62_000 + (kind === 'postgres' ? 100 : 0);
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    gw = await startGateway({ db, frozenClock: true });
    admin = await operatorSession(gw.runtime, gw.url, 'stat', 'admin');
  });
  afterAll(async () => {
    await gw?.close();
    await db?.drop();
  });

  const sorted = (rows: StatDelta[]) =>
    rows
      .filter((r) => r.n !== 0)
      .map((r) => `${r.hour} ${r.clientId} ${r.key} ${r.n}`)
      .sort();

  it('equal a recount from flows after a mixed workload, and the overview reports them', async () => {
    const [a, b, c, d, e] = [0, 1, 2, 3, 4].map((i) => person(seed + i)) as [
      TestPerson,
      TestPerson,
      TestPerson,
      TestPerson,
      TestPerson,
    ];
    const start = async (p: TestPerson) => (await api(gw, 'POST', FACE, p)).body.data;
    const fa = await start(a);
    await start(b);
    const fc = await start(c);
    await start(d);
    expect((await start(a)).flowId).toBe(fa.flowId); // reused
    await start({ ...b, mobile: '13700000001' }); // supersedes b's first flow
    expect((await fetch(fc.authUrl, { redirect: 'manual' })).status).toBe(302);
    gw.advance(40_000);
    await completeSandboxFlow(gw.runtime, fa.flowId, { success: true });
    await completeSandboxFlow(gw.runtime, fc.flowId, { success: false, reason: '人脸比对未通过' });
    expect((await start(a)).message).toBe('verified');
    gw.advance(3_600_000);
    await start(e);
    gw.advance(31 * 60_000);
    expect(await expireDueFlows(gw.runtime)).toBe(3);
    await gw.runtime.eventStats.flush();

    const stored = await readStats(gw.runtime.store.db, 0, 2 ** 50, 'flow.');
    const recount = await recountFlowStats(gw.runtime.store.db);
    expect(sorted(stored.map((r) => ({ ...r, clientId: r.client_id })))).toEqual(sorted(recount));

    const r = await admin.call('GET', '/overview?range=24h');
    expect(r.status).toBe(200);
    const o = r.body.data;
    expect(o.bucket).toBe('hour');
    expect(o.series).toHaveLength(24);
    expect(o.totals).toEqual({
      new: 6,
      reused: 1,
      verified: 1,
      success: 1,
      failed: 1,
      expired: 3,
      superseded: 1,
    });
    expect(o.funnel).toEqual({ created: 6, opened: 1, completed: 2, success: 1 });
    expect(o.clients).toEqual([
      {
        clientId: expect.any(String),
        clientName: 'acme',
        created: 6,
        success: 1,
        successRate: 0.5,
        medianCompleteSeconds: 37.5,
      },
    ]);
    expect(o.upstream.byResult).toEqual([{ result: 'ok', count: 9 }]);
    expect(o.deliveries).toEqual({
      byOutcome: { delivered: 0, failed: 0, dead: 0 },
      pending: 0,
      oldestPendingSeconds: null,
    });
    const sum = (k: string) => o.series.reduce((n: number, p: Record<string, number>) => n + (p[k] ?? 0), 0);
    expect(sum('new')).toBe(6);

    const month = await admin.call('GET', '/overview?range=30d');
    expect(month.body.data.bucket).toBe('day');
    expect(month.body.data.totals).toEqual(o.totals);
    const bad = await admin.call('GET', '/overview?range=custom&from=2026-01-02T00:00:00%2B08:00');
    expect(bad.status).toBe(400);
  });
});
