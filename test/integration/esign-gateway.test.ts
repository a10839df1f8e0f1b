import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeEsign } from '../../src/fake-esign/server.js';
import { runCli } from '../support/cli-run.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/databases.js';
import { startFake } from '../support/esign.js';
import { api, FACE, startGateway, type TestGateway } from '../support/gateway.js';
import { person } from '../support/people.js';

describe.each(await storeKinds())('the gateway with PROVIDER=esign against the fake e签宝 on %s', (kind) => {
  let fake: FakeEsign;
  let gw: TestGateway;
  let db: TestDatabase;
  let seed = kind === 'sqlite' ? 30_000 : 31_000;
  const next = () => person(seed++);

  beforeAll(async () => {
    const upstream = await startFake();
    fake = upstream.fake;
    db = await createTestDatabase(kind);
    gw = await startGateway({ db, env: { ...upstream.env, ESIGN_REQUEST_TIMEOUT_MS: '800' } });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
    await db?.drop();
  });
  beforeEach(() => {
    fake.script.clear();
    fake.latencyMs = 0;
  });

  it('creates the account and a face flow, hides e签宝 links behind our short link, then a signed callback finishes it', async () => {
    const p = next();
    const r = await api(gw, 'POST', FACE, p);
    expect(r.status).toBe(200);
    const data = r.body.data;
    expect(data.message).toBe('success');
    expect(data.originalUrl).toMatch(new RegExp(`^${fake.baseUrl}/identity/face/[\\w-]{24}$`));
    expect(data.authUrl).toMatch(new RegExp(`^${gw.url}/s/`));
    const [upstreamFlow] = [...fake.flows.values()].filter((f) => f.contextId === data.flowId);
    expect(upstreamFlow).toBeDefined();
    if (!upstreamFlow) return;
    expect(upstreamFlow.originalUrl).toBe(data.originalUrl);
    expect(Date.parse(data.expire)).toBe(Math.floor(upstreamFlow.expire / 1000) * 1000);
    expect(upstreamFlow.repetition).toBe(false);
    expect(upstreamFlow.faceauthMode).toBe('ZHIMACREDIT');
    expect(upstreamFlow.notifyUrl).toBe(`${gw.url}/esign/callbacks/esign`);
    expect(upstreamFlow.callbackUrl).toBe(`${gw.url}/h5/result/${data.flowId}`);
    expect(data.esignAccountId).toBe(upstreamFlow.accountId);

    // Same request again: same link, no second billed call.
    const calls = fake.faceCalls;
    expect((await api(gw, 'POST', FACE, p)).body.data).toEqual(data);
    expect(fake.faceCalls).toBe(calls);

    expect((await fetch(`${gw.url}/esign/callbacks/esign`)).status).toBe(200);
    fake.completeFlow(upstreamFlow.flowId, { success: true });
    expect(await fake.sendCallback(upstreamFlow.flowId)).toBe(200);
    const q = await api(gw, 'GET', `${FACE}/${data.flowId}`);
    expect(q.body.data.status).toBe('SUCCESS');
    expect(q.body.data.esignAccountId).toBe(upstreamFlow.accountId);
    // A duplicate callback is harmless.
    expect(await fake.sendCallback(upstreamFlow.flowId)).toBe(200);
    expect((await api(gw, 'GET', `${FACE}/${data.flowId}`)).body.data.completedAt).toBe(
      q.body.data.completedAt,
    );

    const verified = await api(gw, 'POST', FACE, p);
    expect(verified.body.data).toEqual({
      authUrl: '',
      originalUrl: '',
      expire: '',
      esignAccountId: upstreamFlow.accountId,
      message: 'verified',
    });
    expect(fake.faceCalls).toBe(calls);
  });

  it('reuses the e签宝 account for the next flow of the same person', async () => {
    const p = next();
    const first = (await api(gw, 'POST', FACE, p)).body.data;
    const creates = fake.requests.filter((r) => r.path === '/v1/accounts/createByThirdPartyUserId').length;
    const second = (await api(gw, 'POST', FACE, { ...p, mobile: '13911112222' })).body.data;
    expect(second.flowId).not.toBe(first.flowId);
    expect(second.esignAccountId).toBe(first.esignAccountId);
    expect(fake.requests.filter((r) => r.path === '/v1/accounts/createByThirdPartyUserId').length).toBe(
      creates,
    );
  });

  it('a failure callback marks the flow FAILED; bad signatures, wrong app ids and old timestamps change nothing', async () => {
    const data = (await api(gw, 'POST', FACE, next())).body.data;
    const upstreamFlow = [...fake.flows.values()].find((f) => f.contextId === data.flowId);
    if (!upstreamFlow) throw new Error('no upstream flow');
    fake.completeFlow(upstreamFlow.flowId, { success: true });
    expect(await fake.sendCallback(upstreamFlow.flowId, { secret: 'not-the-secret' })).toBe(401);
    expect(await fake.sendCallback(upstreamFlow.flowId, { appId: '9999' })).toBe(401);
    expect(await fake.sendCallback(upstreamFlow.flowId, { timestamp: Date.now() - 3_600_000 })).toBe(401);
    expect(
      await fake.sendCallback(upstreamFlow.flowId, { tamperedBody: '{"flowId":"1","success":true}' }),
    ).toBe(401);
    expect((await api(gw, 'GET', `${FACE}/${data.flowId}`)).body.data.status).toBe('PENDING');

    const other = (await api(gw, 'POST', FACE, next())).body.data;
    const otherUpstream = [...fake.flows.values()].find((f) => f.contextId === other.flowId);
    if (!otherUpstream) throw new Error('no upstream flow');
    fake.completeFlow(otherUpstream.flowId, { success: false, failReason: '非本人操作' });
    expect(await fake.sendCallback(otherUpstream.flowId)).toBe(200);
    const q = (await api(gw, 'GET', `${FACE}/${other.flowId}`)).body.data;
    expect(q.status).toBe('FAILED');
    // The callback says only success: false; the reason is e签宝's own, asked for at once.
    expect(q.failReason).toBe('非本人操作');
  });

  it('a failure callback whose reason e签宝 cannot tell in time still fails the flow, with a general reason', async () => {
    const data = (await api(gw, 'POST', FACE, next())).body.data;
    const upstream = [...fake.flows.values()].find((f) => f.contextId === data.flowId);
    if (!upstream) throw new Error('no upstream flow');
    fake.completeFlow(upstream.flowId, { success: false, failReason: '光线不足' });
    fake.script.once('detail', { kind: 'hang' });
    expect(await fake.sendCallback(upstream.flowId)).toBe(200);
    expect((await api(gw, 'GET', `${FACE}/${data.flowId}`)).body.data).toMatchObject({
      status: 'FAILED',
      failReason: '人脸识别认证未通过',
    });
  });

  it('answers verified when e签宝 says the account is already verified (30500152)', async () => {
    fake.script.once('face', { kind: 'already-verified' });
    const r = await api(gw, 'POST', FACE, next());
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual({
      authUrl: '',
      originalUrl: '',
      expire: '',
      esignAccountId: expect.stringMatching(/^[0-9a-f]{32}$/),
      message: 'verified',
    });
  });

  it('lets a person pass on the fake face page: signed callback, then the gateway result page', async () => {
    const p = next();
    const { flowId, originalUrl } = (await api(gw, 'POST', FACE, p)).body.data;
    const page = await fetch(originalUrl);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('模拟认证通过');
    expect(html).toContain('模拟认证不通过');
    expect(html).not.toContain(p.name);
    expect(html).not.toContain(p.idNumber);
    const [upstream] = [...fake.flows.values()].filter((f) => f.contextId === flowId);
    expect(upstream?.status).toBe('SCAN');

    const submitted = await fetch(originalUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'result=pass',
      redirect: 'manual',
    });
    expect(submitted.status).toBe(303);
    expect(submitted.headers.get('location')).toBe(`${gw.url}/h5/result/${flowId}`);
    expect((await api(gw, 'GET', `${FACE}/${flowId}`)).body.data.status).toBe('SUCCESS');
    expect(await (await fetch(`${gw.url}/h5/result/${flowId}`)).text()).toContain('认证成功');
    // Opening the finished page again only sends the person back to the result page.
    const again = await fetch(originalUrl, { redirect: 'manual' });
    expect(again.status).toBe(302);
  });

  it('`fake-esign complete --fail` finishes a flow by its e签宝 id with a signed failure callback', async () => {
    const { flowId } = (await api(gw, 'POST', FACE, next())).body.data;
    const [upstream] = [...fake.flows.values()].filter((f) => f.contextId === flowId);
    const providerFlowId = upstream?.flowId ?? '';
    const run = await runCli(
      ['fake-esign', 'complete', providerFlowId, '--fail', '光线不足', '--fake-url', fake.baseUrl],
      {},
    );
    expect(run).toMatchObject({ code: 0, stdout: `${providerFlowId} FAIL (callback answered 200)\n` });
    expect(upstream?.failReason).toBe('光线不足');
    expect((await api(gw, 'GET', `${FACE}/${flowId}`)).body.data).toMatchObject({
      status: 'FAILED',
      failReason: '光线不足',
    });
    const twice = await runCli(['fake-esign', 'complete', flowId, '--fake-url', fake.baseUrl], {});
    expect(twice.code).toBe(1);
    expect(twice.stderr).toBe('error: fake e签宝 refused: 认证流程已结束 (code 30500005)\n');
  });

  const failures: [string, Parameters<FakeEsign['script']['once']>[1], number, string][] = [
    ['balance exhausted', { kind: 'error', code: 30503107 }, 502, '认证服务余额不足，请联系运营人员'],
    ['too many attempts', { kind: 'error', code: 30500052 }, 502, '该用户认证次数过多，请稍后再试'],
    ['an unknown code', { kind: 'error', code: 12345 }, 502, '认证服务返回错误（错误码 12345）'],
    [
      'HTTP 503 without an envelope',
      { kind: 'http', status: 503, body: 'busy' },
      503,
      '认证服务暂不可用，请稍后重试',
    ],
    ['malformed JSON', { kind: 'malformed' }, 502, expect.any(String) as unknown as string],
    [
      'a non-https link',
      { kind: 'patch', data: { originalUrl: 'http://evil.example/x' } },
      502,
      expect.any(String) as unknown as string,
    ],
    [
      'an expiry in the past',
      { kind: 'patch', data: { expire: Date.now() - 1000 } },
      502,
      expect.any(String) as unknown as string,
    ],
    ['a hang past the timeout', { kind: 'hang' }, 504, '认证服务响应超时，请稍后重试'],
  ];

  it.each(failures)(
    'maps %s to its 5xx envelope, keeps no flow and never retries the billed call',
    async (_name, answer, status, msg) => {
      const p = next();
      const before = fake.faceCalls;
      fake.script.once('face', answer);
      const r = await api(gw, 'POST', FACE, p);
      expect(r.status).toBe(status);
      expect(r.body.responseCode).toBe(String(status));
      expect(r.body.responseMsg).toEqual(msg);
      expect(r.body.data).toBeNull();
      expect(fake.faceCalls - before).toBe(1);
      // Nothing half-written: the next attempt starts cleanly.
      const retry = await api(gw, 'POST', FACE, p);
      expect(retry.status).toBe(200);
      expect(retry.body.data.message).toBe('success');
    },
  );

  it('counts balance exhaustion in a metric', async () => {
    const before = (await gw.runtime.metrics.balanceExhausted.get()).values[0]?.value ?? 0;
    fake.script.once('face', { kind: 'error', code: 30503107 });
    expect((await api(gw, 'POST', FACE, next())).status).toBe(502);
    expect((await gw.runtime.metrics.balanceExhausted.get()).values[0]?.value).toBe(before + 1);
  });
});
