import { type RateDecision, type RateLimiter, retryAfter } from './limiter.js';

/** Per-process limiter: a list of hit times per key, pruned on use and swept now and then. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly hits = new Map<string, { times: number[]; windowMs: number }>();
  private calls = 0;

  async hit(key: string, limit: number, windowMs: number, now: number): Promise<RateDecision> {
    if (++this.calls % 10_000 === 0) this.sweep(now);
    let entry = this.hits.get(key);
    if (!entry) {
      entry = { times: [], windowMs };
      this.hits.set(key, entry);
    }
    const decision = this.decide(entry.times, limit, windowMs, now);
    if (decision.allowed) entry.times.push(now);
    return decision;
  }

  async peek(key: string, limit: number, windowMs: number, now: number): Promise<RateDecision> {
    const entry = this.hits.get(key);
    return entry ? this.decide(entry.times, limit, windowMs, now) : { allowed: true, retryAfterSec: 0 };
  }

  /** Drops hits that left the window, then says whether one more fits. */
  private decide(times: number[], limit: number, windowMs: number, now: number): RateDecision {
    let drop = 0;
    while (drop < times.length && (times[drop] as number) <= now - windowMs) drop++;
    if (drop > 0) times.splice(0, drop);
    if (times.length >= limit)
      return { allowed: false, retryAfterSec: retryAfter(times[0] as number, windowMs, now) };
    return { allowed: true, retryAfterSec: 0 };
  }

  /** Keys nobody hit within their window would otherwise stay forever. */
  private sweep(now: number): void {
    for (const [key, entry] of this.hits) {
      const last = entry.times[entry.times.length - 1];
      if (last === undefined || last <= now - entry.windowMs) this.hits.delete(key);
    }
  }

  async close(): Promise<void> {
    this.hits.clear();
  }
}
