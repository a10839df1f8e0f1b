import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/databases.js';
import { api, FACE, startGateway, type TestGateway } from '../support/gateway.js';
import { person, SEED_SAMPLE } from '../support/people.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Flow ids are UUIDv7: time-ordered keys (see crypto/random.ts). */
const FLOW_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const BEIJING_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/;

describe.each(await storeKinds())('face authentication API on %s', (kind) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let seed = 1000 + (kind === 'postgres' ? 500 : 0);
  const next = () => person(seed++);

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    gw = await startGateway({ db });
  });
  afterAll(async () => {
    await gw?.close();
    await db?.drop();
  });

  it('starts a new flow, returns the same link again, then answers verified once the person passes', async () => {
    const p = next();
    const first = await api(gw, 'POST', FACE, p);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-request-id')).toBe(first.body.requestId);
    expect(first.body.requestId).toMatch(UUID);
    expect(first.body.responseCode).toBe('000');
    expect(first.body.responseMsg).toBe('成功');
    const data = first.body.data;
    expect(Object.keys(data).sort()).toEqual(['authUrl', 'expire', 'flowId', 'message', 'originalUrl']);
    expect(data.message).toBe('success');
    expect(data.authUrl).toMatch(new RegExp(`^${gw.url}/s/[0-9A-Za-z]{12}$`));
    expect(data.originalUrl).toMatch(new RegExp(`^${gw.url}/h5/sandbox/sbx_[0-9A-Za-z]{24}$`));
    expect(data.expire).toMatch(BEIJING_ISO);
    expect(Date.parse(data.expire) - Date.now()).toBeGreaterThan(29 * 60_000);
    expect(gw.startCalls()).toBe(1);

    const again = await api(gw, 'POST', FACE, p);
    expect(again.body.data).toEqual(data);
    expect(again.body.requestId).not.toBe(first.body.requestId);
    expect(gw.startCalls()).toBe(1);

    const { completeSandboxFlow } = await import('../../src/services/flows/sandbox.js');
    await completeSandboxFlow(gw.runtime, data.flowId, { success: true });

    const verified = await api(gw, 'POST', FACE, p);
    expect(verified.status).toBe(200);
    expect(verified.body.data).toEqual({
      authUrl: '',
      originalUrl: '',
      expire: '',
      esignAccountId: expect.stringMatching(/^[0-9a-f]{32}$/),
      message: 'verified',
    });
    expect(gw.startCalls()).toBe(1);

    const q = await api(gw, 'GET', `${FACE}/${data.flowId}`);
    expect(q.body.data).toMatchObject({
      flowId: data.flowId,
      status: 'SUCCESS',
      esignAccountId: verified.body.data.esignAccountId,
      expire: data.expire,
    });
    expect(q.body.data.person).toEqual({
      name: `**${p.name.slice(2)}`,
      idNumber: `${p.idNumber.slice(0, 4)}**********${p.idNumber.slice(14)}`,
      mobile: `${p.mobile.slice(0, 3)}****${p.mobile.slice(7)}`,
    });
  });

  it('20 concurrent identical requests make exactly one flow and one provider call', async () => {
    const p = next();
    const before = gw.startCalls();
    const results = await Promise.all(Array.from({ length: 20 }, () => api(gw, 'POST', FACE, p)));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(new Set(results.map((r) => r.body.data.flowId)).size).toBe(1);
    expect(gw.startCalls() - before).toBe(1);
  });

  it('gives the same person the same e签宝 account id on every verification', async () => {
    const p = next();
    const { completeSandboxFlow } = await import('../../src/services/flows/sandbox.js');
    const flow = (await api(gw, 'POST', FACE, p)).body.data.flowId;
    const r1 = await completeSandboxFlow(gw.runtime, flow, { success: true });
    const other = await gw.newClient(`other-${kind}-${seed}`);
    const asOther = await api({ url: gw.url, token: other }, 'POST', FACE, p);
    expect(asOther.body.data.message).toBe('verified');
    expect(asOther.body.data.esignAccountId).toBe(r1.flow.account_id);
  });

  it('verified needs the same name: another name on the same ID number starts a flow', async () => {
    const p = next();
    const { completeSandboxFlow } = await import('../../src/services/flows/sandbox.js');
    await completeSandboxFlow(gw.runtime, (await api(gw, 'POST', FACE, p)).body.data.flowId, {
      success: true,
    });
    const renamed = await api(gw, 'POST', FACE, { ...p, name: '欧阳娜娜' });
    expect(renamed.body.data.message).toBe('success');
    expect(renamed.body.data.flowId).toMatch(FLOW_ID);
  });

  it('a changed request supersedes the earlier pending flow and its short link stops working', async () => {
    const p = next();
    const before = gw.startCalls();
    const first = (await api(gw, 'POST', FACE, p)).body.data;
    const second = (await api(gw, 'POST', FACE, { ...p, mobile: '13700000001' })).body.data;
    expect(second.flowId).not.toBe(first.flowId);
    expect(gw.startCalls()).toBe(before + 2);
    expect((await api(gw, 'GET', `${FACE}/${first.flowId}`)).body.data.status).toBe('SUPERSEDED');
    expect((await api(gw, 'GET', `${FACE}/${second.flowId}`)).body.data.status).toBe('PENDING');

    const gone = await fetch(first.authUrl, { redirect: 'manual' });
    expect(gone.status).toBe(410);
    expect(await gone.text()).toContain('链接已失效');
    const live = await fetch(second.authUrl, { redirect: 'manual' });
    expect(live.status).toBe(302);
    expect(live.headers.get('location')).toBe(second.originalUrl);
    const q = await api(gw, 'GET', `${FACE}/${second.flowId}`);
    expect(q.body.data.openedAt).toMatch(BEIJING_ISO);
  });

  it('normalized input is the same request: full-width digits, +86 and a compact period reuse the link', async () => {
    const p = next();
    const first = (await api(gw, 'POST', FACE, p)).body.data;
    const fullWidth = p.idNumber.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d)));
    const again = await api(gw, 'POST', FACE, {
      name: ` ${p.name} `,
      idNumber: fullWidth,
      mobile: `+86 ${p.mobile.slice(0, 3)}-${p.mobile.slice(3)}`,
      validPeriod: p.validPeriod.replaceAll('.', ''),
    });
    expect(again.body.data).toEqual(first);
  });

  it('does not reuse a link with less than 5 minutes left, and reads EXPIRED once it is past', async () => {
    const p = next();
    const first = (await api(gw, 'POST', FACE, p)).body.data;
    gw.advance(26 * 60_000);
    const fresh = (await api(gw, 'POST', FACE, p)).body.data;
    expect(fresh.flowId).not.toBe(first.flowId);
    gw.advance(31 * 60_000);
    expect((await api(gw, 'GET', `${FACE}/${fresh.flowId}`)).body.data.status).toBe('EXPIRED');
    const expiredLink = await fetch(fresh.authUrl, { redirect: 'manual' });
    expect(expiredLink.status).toBe(410);

    const { expireDueFlows } = await import('../../src/services/flows/reconcile.js');
    expect(await expireDueFlows(gw.runtime)).toBeGreaterThanOrEqual(1);
    const { findFlowById } = await import('../../src/store/flow-store.js');
    expect((await findFlowById(gw.runtime.store.db, fresh.flowId))?.status).toBe('EXPIRED');
    gw.advance(-57 * 60_000);
  });

  it("rejects the seed document's own sample with errors for idNumber and mobile only", async () => {
    const r = await api(gw, 'POST', FACE, SEED_SAMPLE);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      requestId: r.headers.get('x-request-id'),
      responseCode: '400',
      responseMsg: '请求参数错误',
      data: {
        errors: [
          { field: 'idNumber', code: 'ID_CHECKSUM', message: '身份证号校验位错误' },
          { field: 'mobile', code: 'MOBILE_FORMAT', message: '手机号格式错误，应为11位中国大陆手机号' },
        ],
      },
    });
  });

  it('reports every bad field together, type and identity rules alike', async () => {
    const r = await api(gw, 'POST', FACE, {
      name: 'x'.repeat(33),
      idNumber: 12,
      validPeriod: '2009.01.01-2019.01.01',
    });
    expect(r.status).toBe(400);
    expect(r.body.data.errors.map((e: { field: string; code: string }) => `${e.field}:${e.code}`)).toEqual([
      'name:TOO_LONG',
      'idNumber:TYPE',
      'mobile:REQUIRED',
      'validPeriod:PERIOD_EXPIRED',
    ]);
  });

  it('keeps flows private to the client that started them', async () => {
    const mine = (await api(gw, 'POST', FACE, next())).body.data.flowId;
    const other = await gw.newClient(`peer-${kind}`);
    const r = await api({ url: gw.url, token: other }, 'GET', `${FACE}/${mine}`);
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ responseCode: '404', data: null });
    const missing = await api(gw, 'GET', `${FACE}/00000000-0000-4000-8000-000000000000`);
    expect(missing.status).toBe(404);
  });
});
