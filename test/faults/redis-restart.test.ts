import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { sleep, startFaceLoad, statusCounts, waitFor } from '../support/load.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';

/**
 * Redis (the shared rate-limit store) stopped and restarted under load, on a Redis of this test's
 * own. Policy while it is away: each process counts the limits in its own memory (so they still
 * hold, per process), no request waits for Redis longer than the limiter's command timeout; once it
 * is back, shared counting resumes without a gateway restart.
 */
const OUTAGE_MS = 4000;
/** Two limiter calls per face start, 500 ms each at worst, plus slack for a loaded 2-core machine. */
const LATENCY_BOUND_MS = 3000;
const SHORT_LINK_LIMIT = 5;

describe('Redis stopped and restarted during load', () => {
  let redis: RedisServer;
  let gw: TestGateway;

  beforeAll(async () => {
    redis = await startRedisServer();
    gw = await startGateway({
      env: {
        REDIS_URL: redis.url,
        RATE_LIMIT_PER_TOKEN: '100000',
        RATE_LIMIT_SHORT_LINK_PER_IP: String(SHORT_LINK_LIMIT),
      },
    });
  });

  afterAll(async () => {
    await gw?.close();
    await redis?.stop();
  });

  /** Statuses of SHORT_LINK_LIMIT + 1 opens of unknown short codes from this IP. */
  const probeShortLinkLimit = async () => {
    const statuses: number[] = [];
    for (let i = 0; i <= SHORT_LINK_LIMIT; i++) {
      statuses.push((await fetch(`${gw.url}/s/unknownCode${String(i).padStart(4, '0')}`)).status);
    }
    return statuses;
  };

  it('keeps serving and limiting (in process memory) while Redis is down, and shares limits again once it is back', async () => {
    const load = startFaceLoad(gw, { concurrency: 4, seedBase: 700_000 });
    await waitFor(() => load.samples.filter((s) => s.status === 200).length >= 20, 15_000);

    const downAt = performance.now();
    await redis.stop();
    const during = await probeShortLinkLimit();
    await sleep(OUTAGE_MS);
    const restartAt = performance.now();
    await redis.start();
    const upAt = performance.now();

    // The gateway's client reconnects on its own (backoff capped at 1 s).
    const counting = await waitFor(async () => {
      const r = new Redis(redis.url);
      try {
        return (await r.dbsize()) > 0;
      } finally {
        r.disconnect();
      }
    }, 10_000);
    await sleep(1500);
    const samples = await load.stop();
    expect(counting).toBe(true);
    // Windows are a minute long: wait out none, use fresh counters in the restarted (empty) Redis.
    const after = await probeShortLinkLimit();

    expect(during).toEqual([...Array(SHORT_LINK_LIMIT).fill(404), 429]);
    expect(after).toEqual([...Array(SHORT_LINK_LIMIT).fill(404), 429]);
    expect(samples.every((s) => s.status === 200)).toBe(true);
    const outage = samples.filter((s) => s.sentAt >= downAt && s.sentAt <= restartAt);
    expect(outage.length).toBeGreaterThan(5);
    const maxDuring = Math.max(...outage.map((s) => s.ms));
    expect(maxDuring).toBeLessThan(LATENCY_BOUND_MS);

    console.log(
      `redis restart: outage ${Math.round(upAt - downAt)} ms; ${outage.length} face requests during it, ` +
        `max latency ${Math.round(maxDuring)} ms; statuses ${JSON.stringify(statusCounts(samples))}; ` +
        `short-link limit during ${JSON.stringify(during)}, after ${JSON.stringify(after)}`,
    );
  }, 60_000);
});
