import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { type RateDecision, type RateLimiter, retryAfter } from './limiter.js';

/**
 * Shared limiter: one sorted set of hit times per key, pruned, counted and added to in one Lua
 * script so concurrent gateways cannot both take the last slot.
 */
const SCRIPT = `
local key, now, window, limit, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2])}
end
redis.call('ZADD', key, now, member)
redis.call('PEXPIRE', key, window)
return {1, now}
`;

const COMMAND_TIMEOUT_MS = 500;

const PEEK_SCRIPT = `
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2])}
end
return {1, now}
`;

export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly tag = randomBytes(6).toString('hex');
  private seq = 0;

  constructor(url: string, keyPrefix: string) {
    // While Redis is away a request waits for it at most COMMAND_TIMEOUT_MS, then the caller's
    // policy applies (services/rate-limits.ts: allow and log); reconnecting goes on in the background.
    this.redis = new Redis(url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      lazyConnect: false,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    });
    // Without a listener ioredis prints every failed reconnect; the failed commands are logged by the caller.
    this.redis.on('error', () => {});
    this.prefix = `${keyPrefix}rl:`;
  }

  async hit(key: string, limit: number, windowMs: number, now: number): Promise<RateDecision> {
    // Unique within the set: this process's random tag and a counter (no CSPRNG call per hit).
    const member = `${now}-${this.tag}-${++this.seq}`;
    const answer = await this.redis.eval(SCRIPT, 1, this.prefix + key, now, windowMs, limit, member);
    return decision(answer, windowMs, now);
  }

  async peek(key: string, limit: number, windowMs: number, now: number): Promise<RateDecision> {
    const answer = await this.redis.eval(PEEK_SCRIPT, 1, this.prefix + key, now, windowMs, limit);
    return decision(answer, windowMs, now);
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}

function decision(answer: unknown, windowMs: number, now: number): RateDecision {
  const [ok, t] = answer as [number, number];
  return ok === 1
    ? { allowed: true, retryAfterSec: 0 }
    : { allowed: false, retryAfterSec: retryAfter(t, windowMs, now) };
}
