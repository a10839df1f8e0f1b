/**
 * Sliding-window rate limiting: at most `limit` hits per `windowMs` for a key. One interface,
 * two implementations: in process memory (one gateway) and Redis (shared by every gateway).
 */
export interface RateDecision {
  allowed: boolean;
  /** Whole seconds until a hit would be allowed again (0 when allowed). */
  retryAfterSec: number;
}

/** Where hits are counted right now, for readiness and metrics. */
export interface LimiterHealth {
  /**
   * Where hits are counted; `memory-fallback`: Redis is configured but unreachable, so each
   * process counts on its own.
   */
  rateLimits: 'memory' | 'redis' | 'memory-fallback';
  /** Present only when Redis is configured. */
  redis?: 'ok' | 'unreachable';
}

export interface RateLimiter {
  /** Records a hit for `key` at `now` if it fits in the window; says whether it did. */
  hit(key: string, limit: number, windowMs: number, now: number): Promise<RateDecision>;
  /** Whether a hit would be allowed now, without recording one. */
  peek(key: string, limit: number, windowMs: number, now: number): Promise<RateDecision>;
  /** Forgets every hit recorded for `key`. */
  reset(key: string): Promise<void>;
  /** Checks the backing store now (a Redis PING), without counting anything. */
  check(): Promise<LimiterHealth>;
  close(): Promise<void>;
}

export const retryAfter = (oldestHit: number, windowMs: number, now: number) =>
  Math.max(1, Math.ceil((oldestHit + windowMs - now) / 1000));
