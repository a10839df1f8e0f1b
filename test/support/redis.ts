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

/** Removes the gateway's rate-limit keys so a test starts from empty counters. */
export async function flushRedisPrefix(prefix = 'etc-esign:rl:'): Promise<void> {
  const r = new Redis(TEST_REDIS_URL);
  try {
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
  } finally {
    r.disconnect();
  }
}
