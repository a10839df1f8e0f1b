import { type LimiterHealth, type RateDecision, type RateLimiter, retryAfter } from './limiter.js';

/**
 * The hit times of one key in a ring: `times[head]` is the oldest. It grows to at most `limit`
 * entries, after which a hit overwrites the oldest — O(1) per hit whatever the limit, where a
 * list pruned from the front costs O(hits in the window).
 */
interface Ring {
  times: number[];
  head: number;
  windowMs: number;
}

const ALLOWED: RateDecision = Object.freeze({ allowed: true, retryAfterSec: 0 });

/** Per-process limiter: an exact sliding window per key, swept now and then. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly rings = new Map<string, Ring>();
  private calls = 0;

  async hit(key: string, limit: number, windowMs: number, now: number): Promise<RateDecision> {
    if (++this.calls % 10_000 === 0) this.sweep(now);
    let ring = this.rings.get(key);
    if (!ring) {
      ring = { times: [], head: 0, windowMs };
      this.rings.set(key, ring);
    }
    const decision = decide(ring, limit, windowMs, now);
    if (!decision.allowed) return decision;
    const { times } = ring;
    if (times.length < limit) {
      // Not full yet: the ring is still in insertion order from 0, head stays at 0.
      times.push(now);
    } else {
      times[ring.head] = now;
      ring.head = (ring.head + 1) % times.length;
    }
    return decision;
  }

  async peek(key: string, limit: number, windowMs: number, now: number): Promise<RateDecision> {
    const ring = this.rings.get(key);
    return ring ? decide(ring, limit, windowMs, now) : ALLOWED;
  }

  /** Keys nobody hit within their window would otherwise stay forever. */
  private sweep(now: number): void {
    for (const [key, ring] of this.rings) {
      const { times, head } = ring;
      const newest = times[(head + times.length - 1) % times.length];
      if (newest === undefined || newest <= now - ring.windowMs) this.rings.delete(key);
    }
  }

  async reset(key: string): Promise<void> {
    this.rings.delete(key);
  }

  async check(): Promise<LimiterHealth> {
    return { rateLimits: 'memory' };
  }

  async close(): Promise<void> {
    this.rings.clear();
  }
}

/** Whether one more hit fits: fewer than `limit` kept, or the oldest of the last `limit` has left the window. */
function decide(ring: Ring, limit: number, windowMs: number, now: number): RateDecision {
  const { times } = ring;
  if (times.length < limit) return ALLOWED;
  const oldest = times[ring.head] as number;
  if (oldest > now - windowMs) return { allowed: false, retryAfterSec: retryAfter(oldest, windowMs, now) };
  return ALLOWED;
}
