import { AppError } from '../errors.js';
import type { RateDecision } from '../ratelimit/limiter.js';
import type { ServiceDeps } from './deps.js';

export const SECOND = 1000;
export const MINUTE = 60_000;
export const DAY = 86_400_000;

type LimiterDeps = Pick<ServiceDeps, 'rateLimiter' | 'logger' | 'now'>;

/**
 * Asks the limiter; the Redis limiter already counts in memory while Redis is down. Should a
 * limiter still throw, the request goes through and is logged: an outage of the counter store
 * must not become an outage of the gateway.
 */
async function ask(
  deps: LimiterDeps,
  op: 'hit' | 'peek',
  key: string,
  limit: number,
  windowMs: number,
): Promise<RateDecision> {
  try {
    return await deps.rateLimiter[op](key, limit, windowMs, deps.now());
  } catch (err) {
    deps.logger.error({ err, limit: key.split(':')[0] }, 'rate limiter unavailable; allowing the request');
    return { allowed: true, retryAfterSec: 0 };
  }
}

/** One hit against a limit; allows when the limiter cannot answer. */
export function hit(deps: LimiterDeps, key: string, limit: number, windowMs: number): Promise<RateDecision> {
  return ask(deps, 'hit', key, limit, windowMs);
}

/** Whether a hit would be allowed, without recording one; like `hit`, allows when the limiter cannot answer. */
export function peek(deps: LimiterDeps, key: string, limit: number, windowMs: number): Promise<RateDecision> {
  return ask(deps, 'peek', key, limit, windowMs);
}

export async function enforce(
  deps: LimiterDeps,
  key: string,
  limit: number,
  windowMs: number,
  userMessage?: string,
): Promise<void> {
  const d = await hit(deps, key, limit, windowMs);
  if (!d.allowed) {
    throw new AppError('rate_limited', {
      retryAfter: d.retryAfterSec,
      detail: `rate limit ${key.split(':')[0]} exceeded`,
      ...(userMessage ? { userMessage } : {}),
    });
  }
}
