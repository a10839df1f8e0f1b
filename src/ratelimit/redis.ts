import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { type LimiterHealth, type RateDecision, type RateLimiter, retryAfter } from './limiter.js';
import { MemoryRateLimiter } from './memory.js';

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

const PEEK_SCRIPT = `
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2])}
end
return {1, now}
`;

/** A request never waits longer than this for Redis before it is counted in memory instead. */
const COMMAND_TIMEOUT_MS = 500;

export interface RedisLimiterOptions {
  logger: Logger;
  /** Told when counting moves to process memory (true) and back to Redis (false). */
  onFallback?: (active: boolean) => void;
}

/**
 * While Redis is unreachable, hits are counted in this process's memory: each process then
 * enforces the limits on its own (at most N times looser with N processes) instead of letting
 * everything through or refusing everything. Readiness reports it; one log line per change.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly tag = randomBytes(6).toString('hex');
  private seq = 0;
  private readonly fallback = new MemoryRateLimiter();
  private state: 'connecting' | 'up' | 'down' = 'connecting';
  private lastFailureAt = 0;

  constructor(
    url: string,
    keyPrefix: string,
    private readonly opts: RedisLimiterOptions,
  ) {
    this.prefix = `${keyPrefix}rl:`;
    this.redis = new Redis(url, {
      maxRetriesPerRequest: 0,
      // Commands fail at once while disconnected, so requests fall back instead of queueing;
      // reconnecting goes on in the background.
      enableOfflineQueue: false,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    });
    this.redis.on('ready', () => this.setState('up'));
    // ioredis reports every failed reconnect here; without a listener each one is printed to stderr.
    this.redis.on('error', (err: Error) => this.setState('down', err));
    this.redis.on('close', () => this.setState('down'));
  }

  /** Resolves once the first connection attempt has succeeded or failed (at most `timeoutMs`). */
  settled(timeoutMs = 2000): Promise<void> {
    if (this.state !== 'connecting') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.redis.off('ready', done);
        this.redis.off('error', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.redis.once('ready', done);
      this.redis.once('error', done);
    });
  }

  private setState(next: 'up' | 'down', err?: Error): void {
    if (next === 'down') this.lastFailureAt = Date.now();
    if (next === this.state || (next === 'down' && this.state === 'connecting' && !err)) return;
    const wasUp = this.state === 'up';
    this.state = next;
    if (next === 'up') {
      this.opts.logger.info({ redis: 'up' }, 'Redis reachable: rate limits are shared by every process');
      this.opts.onFallback?.(false);
    } else {
      const reason = (err as NodeJS.ErrnoException | undefined)?.code ?? err?.message ?? 'connection closed';
      this.opts.logger.warn(
        { redis: 'down', reason },
        `Redis ${wasUp ? 'lost' : 'unreachable'}: rate limits are counted in this process until it is back; check REDIS_URL`,
      );
      this.opts.onFallback?.(true);
    }
  }

  /** Redis when it is up; a connection that stayed open after a failed command, once a second. */
  private usable(): boolean {
    return this.state === 'up' || (this.redis.status === 'ready' && Date.now() - this.lastFailureAt > 1000);
  }

  /** Runs `script` in Redis, or `local` in process memory when Redis cannot answer. */
  private async run(
    local: () => Promise<RateDecision>,
    windowMs: number,
    now: number,
    script: () => Promise<unknown>,
  ): Promise<RateDecision> {
    if (!this.usable()) return local();
    try {
      const answer = await script();
      this.setState('up');
      return decision(answer, windowMs, now);
    } catch (err) {
      this.setState('down', err as Error);
      return local();
    }
  }

  hit(key: string, limit: number, windowMs: number, now: number): Promise<RateDecision> {
    // Unique within the set: this process's random tag and a counter (no CSPRNG call per hit).
    const member = `${now}-${this.tag}-${++this.seq}`;
    return this.run(
      () => this.fallback.hit(key, limit, windowMs, now),
      windowMs,
      now,
      () => this.redis.eval(SCRIPT, 1, this.prefix + key, now, windowMs, limit, member),
    );
  }

  peek(key: string, limit: number, windowMs: number, now: number): Promise<RateDecision> {
    return this.run(
      () => this.fallback.peek(key, limit, windowMs, now),
      windowMs,
      now,
      () => this.redis.eval(PEEK_SCRIPT, 1, this.prefix + key, now, windowMs, limit),
    );
  }

  /** Deletes the shared counter; throws while Redis is unreachable (nothing would be reset). */
  async reset(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }

  async check(): Promise<LimiterHealth> {
    try {
      await this.redis.ping();
      this.setState('up');
      return { rateLimits: 'redis', redis: 'ok' };
    } catch {
      return { rateLimits: 'memory-fallback', redis: 'unreachable' };
    }
  }

  async close(): Promise<void> {
    this.redis.removeAllListeners('close');
    this.redis.disconnect();
    await this.fallback.close();
  }
}

function decision(answer: unknown, windowMs: number, now: number): RateDecision {
  const [ok, t] = answer as [number, number];
  return ok === 1
    ? { allowed: true, retryAfterSec: 0 }
    : { allowed: false, retryAfterSec: retryAfter(t, windowMs, now) };
}
