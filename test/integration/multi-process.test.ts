import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { FakeEsign } from '../../src/fake-esign/server.js';
import { createLogger } from '../../src/log.js';
import { createRuntime } from '../../src/runtime.js';
import { createClient } from '../../src/services/clients/admin.js';
import { createToken, revokeToken } from '../../src/services/clients/tokens.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/databases.js';
import { sharedKeysEnv, startFake } from '../support/esign.js';
import { api, FACE } from '../support/gateway.js';
import { recordSecret, tempDir } from '../support/paths.js';
import { person } from '../support/people.js';
import { type GatewayProcess, spawnGateway } from '../support/process.js';
import { createTestRedis, redisAvailable } from '../support/redis.js';

const ready = (await postgresAvailable()) && (await redisAvailable());
if (!ready) console.log('PostgreSQL or Redis unreachable: skipping the three-process tests');

describe.skipIf(!ready)('three gateway processes on one PostgreSQL database and one Redis', () => {
  let db: TestDatabase;
  let fake: FakeEsign;
  const gateways: GatewayProcess[] = [];
  let token: string;
  let env: Record<string, string>;

  const redis = createTestRedis();

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    const upstream = await startFake(50);
    fake = upstream.fake;
    env = {
      ...upstream.env,
      ...sharedKeysEnv(),
      DATABASE_URL: db.url,
      ...redis.env,
      // One public address in front of all three, as behind a load balancer.
      PUBLIC_BASE_URL: 'https://esign.issuer.example',
      RATE_LIMIT_PER_TOKEN: '100000',
      RATE_LIMIT_NEW_FLOWS_PER_PERSON: '3',
    };
    // The first process migrates; the other two start against the migrated schema.
    gateways.push(await spawnGateway(env));
    gateways.push(...(await Promise.all([spawnGateway(env), spawnGateway(env)])));
    const rt = await createRuntime(loadConfig({ ...env, DATA_DIR: tempDir('mp') }), createLogger('silent'));
    try {
      await createClient(rt, 'issuer');
      token = (await createToken(rt, 'issuer', null)).token;
      recordSecret(token);
    } finally {
      await rt.close();
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop('SIGKILL')));
    await fake?.close();
    await db?.drop();
    await redis.drop();
  });

  const via = (i: number) => ({ url: (gateways[i % gateways.length] as GatewayProcess).url, token });

  it('50 concurrent identical requests across the three processes get one flow and one upstream call', async () => {
    const p = person(20_000);
    const before = fake.faceCalls;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => api(via(i), 'POST', FACE, p)));
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
    const flowIds = new Set(results.map((r) => r.body.data.flowId));
    expect(flowIds.size).toBe(1);
    expect(new Set(results.map((r) => r.body.data.authUrl)).size).toBe(1);
    expect(results[0]?.body.data.authUrl).toMatch(/^https:\/\/esign\.issuer\.example\/s\/[0-9A-Za-z]{12}$/);
    expect(fake.faceCalls - before).toBe(1);
  });

  it('20 concurrent requests with one Idempotency-Key across the three processes: one flow, one fresh answer', async () => {
    const p = person(20_050);
    const before = fake.faceCalls;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api(via(i), 'POST', FACE, p, { 'Idempotency-Key': 'order-multi-process-1' }),
      ),
    );
    expect(fake.faceCalls - before).toBe(1);
    const fresh = results.filter((r) => r.status === 200 && r.headers.get('idempotent-replayed') === null);
    expect(fresh).toHaveLength(1);
    for (const r of results.filter((x) => x !== fresh[0])) {
      if (r.status === 200) {
        expect(r.headers.get('idempotent-replayed')).toBe('true');
        expect(r.body.data).toEqual(fresh[0]?.body.data);
      } else expect(r.status).toBe(409);
    }
    const later = await api(via(1), 'POST', FACE, p, { 'Idempotency-Key': 'order-multi-process-1' });
    expect(later.headers.get('idempotent-replayed')).toBe('true');
    expect(later.body.data).toEqual(fresh[0]?.body.data);
  });

  it('50 concurrent requests for 50 different persons all succeed with 50 flows', async () => {
    const before = fake.faceCalls;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => api(via(i), 'POST', FACE, person(20_100 + i))),
    );
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(new Set(results.map((r) => r.body.data.flowId)).size).toBe(50);
    expect(fake.faceCalls - before).toBe(50);
  });

  it('enforces one per-person limit together through Redis', async () => {
    const p = person(20_300);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await api(via(i), 'POST', FACE, { ...p, mobile: `1350000000${i}` })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
  });

  it('a token revoked elsewhere stops working in all three processes within a second', async () => {
    const rt = await createRuntime(loadConfig({ ...env, DATA_DIR: tempDir('mp') }), createLogger('silent'));
    try {
      const doomed = await createToken(rt, 'issuer', null);
      recordSecret(doomed.token);
      const ask = (i: number) =>
        api({ url: (gateways[i] as GatewayProcess).url, token: doomed.token }, 'GET', `${FACE}/no-such-flow`);
      // Every process has read (and keeps) the token before the revocation.
      for (let round = 0; round < 3; round++) {
        expect((await Promise.all([0, 1, 2].map(ask))).map((r) => r.status)).toEqual([404, 404, 404]);
      }
      await revokeToken(rt, doomed.id);
      const revokedAt = performance.now();
      const took = await Promise.all(
        [0, 1, 2].map(async (i) => {
          while ((await ask(i)).status !== 401) {
            if (performance.now() - revokedAt > 5000) break;
            await new Promise((r) => setTimeout(r, 10));
          }
          return performance.now() - revokedAt;
        }),
      );
      for (const ms of took) expect(ms).toBeLessThan(1000);
      // And it stays refused.
      expect((await Promise.all([0, 1, 2].map(ask))).map((r) => r.status)).toEqual([401, 401, 401]);
    } finally {
      await rt.close();
    }
  });

  it('on SIGTERM finishes the request in flight, then exits 0', async () => {
    fake.latencyMs = 1500;
    const last = gateways.pop() as GatewayProcess;
    const inFlight = api({ url: last.url, token }, 'POST', FACE, person(20_400));
    await new Promise((r) => setTimeout(r, 300));
    const exit = last.stop('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.body.data.message).toBe('success');
    expect(await exit).toBe(0);
    await expect(fetch(`${last.url}/healthz`)).rejects.toThrow();
    fake.latencyMs = 50;
  });
});
