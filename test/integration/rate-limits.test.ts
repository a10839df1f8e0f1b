import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, FACE, startGateway, type TestGateway } from '../support/gateway.js';
import { person } from '../support/people.js';
import { createTestRedis, redisAvailable, type TestRedis } from '../support/redis.js';

const limiters: [string, boolean][] = [
  ['memory', false],
  ...((await redisAvailable()) ? [['redis', true] as [string, boolean]] : []),
];

describe.each(limiters)('rate limits with the %s limiter', (_name, useRedis) => {
  let gw: TestGateway;
  let redis: TestRedis | undefined;
  beforeAll(async () => {
    if (useRedis) redis = createTestRedis();
    gw = await startGateway({
      env: {
        RATE_LIMIT_PER_TOKEN: '5',
        RATE_LIMIT_NEW_FLOWS_PER_PERSON: '2',
        RATE_LIMIT_SHORT_LINK_PER_IP: '3',
        ...redis?.env,
      },
      frozenClock: true,
    });
  });
  afterAll(async () => {
    await gw?.close();
    await redis?.drop();
  });

  it('allows RATE_LIMIT_PER_TOKEN requests per second per token, then answers 429 with Retry-After', async () => {
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof api>> | undefined;
    for (let i = 0; i < 8; i++) {
      const r = await api(gw, 'GET', `${FACE}/00000000-0000-4000-8000-00000000000${i}`);
      statuses.push(r.status);
      if (r.status === 429) limited = r;
    }
    expect(statuses).toEqual([404, 404, 404, 404, 404, 429, 429, 429]);
    expect(limited?.headers.get('retry-after')).toBe('1');
    expect(limited?.body).toEqual({
      requestId: limited?.headers.get('x-request-id'),
      responseCode: '429',
      responseMsg: '请求过于频繁，请稍后重试',
      data: null,
    });
    const other = await gw.newClient(`rl-other-${_name}`);
    expect((await api({ url: gw.url, token: other }, 'GET', `${FACE}/x`)).status).toBe(404);
    gw.advance(1001);
    expect((await api(gw, 'GET', `${FACE}/x`)).status).toBe(404);
  });

  it('caps new flows per person per 24 hours; reused links and verified answers do not count', async () => {
    gw.advance(2000);
    const p = person(9100 + (useRedis ? 1 : 0));
    const a = await api(gw, 'POST', FACE, p);
    expect(a.status).toBe(200);
    expect((await api(gw, 'POST', FACE, p)).body.data.flowId).toBe(a.body.data.flowId);
    gw.advance(2000);
    const b = await api(gw, 'POST', FACE, { ...p, mobile: '13600000001' });
    expect(b.status).toBe(200);
    gw.advance(2000);
    const c = await api(gw, 'POST', FACE, { ...p, mobile: '13600000002' });
    expect(c.status).toBe(429);
    expect(c.body.responseMsg).toBe('该用户发起认证次数过多，请24小时后再试');
    expect(Number(c.headers.get('retry-after'))).toBe(24 * 3600 - 4);
    // The refused attempt left the previous link intact.
    expect((await api(gw, 'GET', `${FACE}/${b.body.data.flowId}`)).body.data.status).toBe('PENDING');
    gw.advance(24 * 3600_000);
    gw.advance(2000);
    expect((await api(gw, 'POST', FACE, { ...p, mobile: '13600000003' })).status).toBe(200);
  });

  it('counts new flows per client and person: one client cannot lock a person out of another', async () => {
    gw.advance(2000);
    const p = person(9200 + (useRedis ? 1 : 0));
    const other = { url: gw.url, token: await gw.newClient(`rl-cp-${_name}`) };
    expect((await api(gw, 'POST', FACE, p)).status).toBe(200);
    gw.advance(2000);
    expect((await api(gw, 'POST', FACE, { ...p, mobile: '13600000011' })).status).toBe(200);
    gw.advance(2000);
    expect((await api(gw, 'POST', FACE, { ...p, mobile: '13600000012' })).status).toBe(429);
    gw.advance(2000);
    expect((await api(other, 'POST', FACE, p)).status).toBe(200);
  });

  it('counts only unknown short codes against the per-IP limit, and an address over it learns nothing', async () => {
    gw.advance(60_000);
    const p = person(9300 + (useRedis ? 1 : 0));
    const link = (await api(gw, 'POST', FACE, p)).body.data.authUrl as string;
    const open = async (url: string) => (await fetch(url, { redirect: 'manual' })).status;
    const own: number[] = [];
    for (let i = 0; i < 6; i++) own.push(await open(link));
    expect(own).toEqual(Array(6).fill(302));
    const guesses: number[] = [];
    for (let i = 0; i < 4; i++) guesses.push(await open(`${gw.url}/s/BBBBBBBBBB${i}`));
    expect(guesses).toEqual([404, 404, 404, 429]);
    expect(await open(link)).toBe(429);
  });

  it('limits short-link opens per IP with a Chinese 429 page', async () => {
    gw.advance(60_000);
    const statuses = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await fetch(`${gw.url}/s/AAAAAAAAAAAA`, { redirect: 'manual' })).status);
    expect(statuses).toEqual([404, 404, 404, 429, 429]);
    const res = await fetch(`${gw.url}/s/AAAAAAAAAAAA`, { redirect: 'manual' });
    expect(res.headers.get('retry-after')).toBe('60');
    expect(await res.text()).toContain('访问过于频繁');
  });
});

describe('the optional new-flow limit per person over all clients', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({
      env: { RATE_LIMIT_NEW_FLOWS_PER_PERSON: '2', RATE_LIMIT_NEW_FLOWS_PER_PERSON_ALL_CLIENTS: '3' },
      frozenClock: true,
    });
  });
  afterAll(async () => gw?.close());

  it("refuses a person's fourth new flow across two clients, with the same message and Retry-After", async () => {
    const p = person(9400);
    const b = { url: gw.url, token: await gw.newClient('rl-all-b') };
    const statuses: number[] = [];
    statuses.push((await api(gw, 'POST', FACE, p)).status);
    gw.advance(1000);
    statuses.push((await api(gw, 'POST', FACE, { ...p, mobile: '13600000021' })).status);
    gw.advance(1000);
    statuses.push((await api(b, 'POST', FACE, p)).status);
    gw.advance(1000);
    const refused = await api(b, 'POST', FACE, { ...p, mobile: '13600000022' });
    statuses.push(refused.status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(refused.body.responseMsg).toBe('该用户发起认证次数过多，请24小时后再试');
    expect(Number(refused.headers.get('retry-after'))).toBe(24 * 3600 - 3);
  });
});

describe.skipIf(!limiters.some(([, useRedis]) => useRedis))('Redis keys of a test run', () => {
  it('live under the REDIS_KEY_PREFIX of the run, never the production prefix, and are dropped after', async () => {
    const redis = createTestRedis();
    const gw = await startGateway({ env: redis.env });
    try {
      expect((await api(gw, 'GET', `${FACE}/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
      const keys = await redis.keys();
      expect(keys.length).toBe(1);
      expect(keys[0]?.startsWith(`${redis.prefix}rl:`)).toBe(true);
      expect(redis.prefix.startsWith('etc-esign:')).toBe(false);
    } finally {
      await gw.close();
      await redis.drop();
    }
    expect(await redis.keys()).toEqual([]);
  });
});
