import { AppError } from '../errors.js';
import type { RateDecision } from '../ratelimit/limiter.js';
import type { ServiceDeps } from './deps.js';

export const SECOND = 1000;
export const MINUTE = 60_000;
export const DAY = 86_400_000;

/**
 * One hit against a limit. The Redis limiter already counts in memory while Redis is down; should
 * a limiter still throw, the request goes through and is logged: an outage of the counter store
 * must not become an outage of the gateway.
 */
export async function hit(
  deps: Pick<ServiceDeps, 'rateLimiter' | 'logger' | 'now'>,
  key: string,
  limit: number,
  windowMs: number,
): Promise<RateDecision> {
  try {
    return await deps.rateLimiter.hit(key, limit, windowMs, deps.now());
  } catch (err) {
    deps.logger.error({ err, limit: key.split(':')[0] }, 'rate limiter unavailable; allowing the request');
    return { allowed: true, retryAfterSec: 0 };
  }
}

/** Whether a hit would be allowed, without recording one; like `hit`, allows when the limiter cannot answer. */
export async function peek(
  deps: Pick<ServiceDeps, 'rateLimiter' | 'logger' | 'now'>,
  key: string,
  limit: number,
  windowMs: number,
): Promise<RateDecision> {
  try {
    return await deps.rateLimiter.peek(key, limit, windowMs, deps.now());
  } catch (err) {
    deps.logger.error({ err, limit: key.split(':')[0] }, 'rate limiter unavailable; allowing the request');
    return { allowed: true, retryAfterSec: 0 };
  }
}

export async function enforce(
  deps: Pick<ServiceDeps, 'rateLimiter' | 'logger' | 'now'>,
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
