import fs from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, FACE, freePort, startGateway, type TestGateway } from '../support/gateway.js';
import { type GatewayProcess, spawnGateway } from '../support/process.js';
import { createTestRedis, redisAvailable, TEST_REDIS_URL, type TestRedis } from '../support/redis.js';

const ready = await redisAvailable();

/** A TCP relay to the real Redis that the test can cut and restore, as a network outage would. */
async function redisRelay(port: number) {
  const target = new URL(TEST_REDIS_URL);
  const sockets = new Set<net.Socket>();
  let server: net.Server | null = null;
  const up = () =>
    new Promise<void>((resolve, reject) => {
      server = net.createServer((client) => {
        const upstream = net.connect(Number(target.port || 6379), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  const down = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (!server) return resolve();
      server.close(() => resolve());
      server = null;
    });
  await up();
  return { up, down };
}

const readLog = (gw: TestGateway) =>
  fs
    .readFileSync(gw.logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { level: number; msg: string; redis?: string; reason?: string });
const redisLines = (gw: TestGateway) => readLog(gw).filter((l) => l.redis !== undefined);

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  ms = 8000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const readyz = async (gw: TestGateway) => {
  const res = await fetch(`${gw.url}/readyz`);
  return { status: res.status, data: (await res.json()).data };
};
const fallbackMetric = async (gw: TestGateway) =>
  /\netc_esign_rate_limiter_fallback (\d)/.exec(await (await fetch(`${gw.url}/metrics`)).text())?.[1];

describe.skipIf(!ready)('when Redis goes away and comes back', () => {
  let gw: TestGateway;
  let redis: TestRedis;
  let relay: Awaited<ReturnType<typeof redisRelay>>;

  beforeAll(async () => {
    redis = createTestRedis();
    const port = await freePort();
    relay = await redisRelay(port);
    gw = await startGateway({
      env: { ...redis.env, REDIS_URL: `redis://127.0.0.1:${port}`, RATE_LIMIT_PER_TOKEN: '3' },
      frozenClock: true,
    });
  });
  afterAll(async () => {
    await gw?.close();
    await relay?.down();
    await redis?.drop();
  });

  it('counts in memory meanwhile, says so in /readyz (503) and the metric, and logs one line per change', async () => {
    expect(await readyz(gw)).toEqual({
      status: 200,
      data: { ok: true, database: 'ok', rateLimits: 'redis', redis: 'ok' },
    });
    expect(await fallbackMetric(gw)).toBe('0');
    expect((await api(gw, 'GET', `${FACE}/x`)).status).toBe(404);
    expect((await redis.keys()).length).toBe(1);

    await relay.down();
    await until('the outage to be noticed', async () => (await readyz(gw)).status === 503);
    expect(await readyz(gw)).toEqual({
      status: 503,
      data: { ok: false, database: 'ok', rateLimits: 'memory-fallback', redis: 'unreachable' },
    });
    expect(await fallbackMetric(gw)).toBe('1');
    // Limits still hold, counted in this process: 3 per second, then 429.
    gw.advance(5000);
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await api(gw, 'GET', `${FACE}/x`)).status);
    expect(statuses).toEqual([404, 404, 404, 429, 429]);
    // ioredis retries every few hundred ms; the log gets one line, not one per retry.
    await new Promise((r) => setTimeout(r, 2500));

    await relay.up();
    await until('Redis to be back', async () => (await readyz(gw)).status === 200);
    expect(await fallbackMetric(gw)).toBe('0');
    gw.advance(5000);
    expect((await api(gw, 'GET', `${FACE}/x`)).status).toBe(404);

    expect(redisLines(gw).map((l) => [l.level, l.redis, l.msg])).toEqual([
      [30, 'up', 'Redis reachable: rate limits are shared by every process'],
      [40, 'down', 'Redis lost: rate limits are counted in this process until it is back; check REDIS_URL'],
      [30, 'up', 'Redis reachable: rate limits are shared by every process'],
    ]);
  });
});

describe.skipIf(!ready)('a gateway process whose REDIS_URL answers nothing', () => {
  let proc: GatewayProcess;
  beforeAll(async () => {
    proc = await spawnGateway({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
  });
  afterAll(async () => {
    await proc?.stop();
  });

  it('starts, is not ready, writes one warning and nothing from ioredis to stderr', async () => {
    const res = await fetch(`${proc.url}/readyz`);
    expect(res.status).toBe(503);
    expect((await res.json()).data).toEqual({
      ok: false,
      database: 'ok',
      rateLimits: 'memory-fallback',
      redis: 'unreachable',
    });
    await new Promise((r) => setTimeout(r, 3000));
    // stderr holds the first-start banner and nothing else: no retry noise from ioredis.
    expect(proc.stderr()).not.toMatch(/ioredis|Unhandled|ECONNREFUSED/);
    expect(proc.stderr()).toContain('Created client "default"');
    const warnings = proc.logLines.map((l) => JSON.parse(l)).filter((l) => l.redis !== undefined);
    expect(warnings.map((l) => [l.level, l.redis, l.reason, l.msg])).toEqual([
      [
        40,
        'down',
        'ECONNREFUSED',
        'Redis unreachable: rate limits are counted in this process until it is back; check REDIS_URL',
      ],
    ]);
  });
});
