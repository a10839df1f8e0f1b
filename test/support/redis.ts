import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Whether Redis answers; with CI=true an unreachable Redis is a failure, not a skip. */
export async function redisAvailable(): Promise<boolean> {
  const r = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000 });
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch (err) {
    if (process.env.CI === 'true')
      throw new Error(`CI=true but Redis at ${TEST_REDIS_URL} is unreachable: ${err}`);
    console.log(`Redis at ${TEST_REDIS_URL} is unreachable: skipping the Redis variants`);
    return false;
  } finally {
    r.disconnect();
  }
}

export interface TestRedis {
  /** `REDIS_URL` and a `REDIS_KEY_PREFIX` of this test's own, never the production `etc-esign:`. */
  env: { REDIS_URL: string; REDIS_KEY_PREFIX: string };
  prefix: string;
  /** Every key under the prefix, for assertions. */
  keys(): Promise<string[]>;
  /** Deletes every key under the prefix. */
  drop(): Promise<void>;
}

/**
 * A key prefix of one test's own in the shared Redis, so tests (and other runs on the same machine)
 * never see each other's counters or the production prefix; `drop` leaves nothing behind.
 */
export function createTestRedis(): TestRedis {
  const prefix = `etc-esign-test:${randomBytes(6).toString('hex')}:`;
  const scan = async (r: Redis): Promise<string[]> => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found;
  };
  const withRedis = async <T>(fn: (r: Redis) => Promise<T>): Promise<T> => {
    const r = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      return await fn(r);
    } finally {
      r.disconnect();
    }
  };
  return {
    env: { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix },
    prefix,
    keys: () => withRedis(scan),
    drop: () =>
      withRedis(async (r) => {
        const keys = await scan(r);
        if (keys.length) await r.del(...keys);
      }),
  };
}
