import { describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../../../src/ratelimit/memory.js';

describe('MemoryRateLimiter', () => {
  it('allows `limit` hits in any window, exactly, and says when the oldest leaves it', async () => {
    const rl = new MemoryRateLimiter();
    const at = async (now: number) => rl.hit('k', 3, 1000, now);
    expect(await at(0)).toEqual({ allowed: true, retryAfterSec: 0 });
    expect((await at(100)).allowed).toBe(true);
    expect((await at(600)).allowed).toBe(true);
    expect(await at(700)).toEqual({ allowed: false, retryAfterSec: 1 });
    // The hit at 0 has left the window at 1000; the one at 100 has not until 1100.
    expect((await at(1000)).allowed).toBe(true);
    expect((await at(1050)).allowed).toBe(false);
    expect((await at(1100)).allowed).toBe(true);
    expect((await at(1599)).allowed).toBe(false);
    expect((await at(1600)).allowed).toBe(true);
    // Refused hits do not count.
    expect((await at(2000)).allowed).toBe(true);
    expect((await at(2100)).allowed).toBe(true);
  });

  it('keeps keys apart and reports Retry-After from the oldest counted hit', async () => {
    const rl = new MemoryRateLimiter();
    const day = 86_400_000;
    expect((await rl.hit('a', 2, day, 0)).allowed).toBe(true);
    expect((await rl.hit('a', 2, day, 2000)).allowed).toBe(true);
    expect(await rl.hit('a', 2, day, 4000)).toEqual({ allowed: false, retryAfterSec: 86_400 - 4 });
    expect((await rl.hit('b', 2, day, 4000)).allowed).toBe(true);
  });

  it('agrees with a plain list of hit times on random traffic', async () => {
    const rl = new MemoryRateLimiter();
    const kept: number[] = [];
    let now = 0;
    for (let i = 0; i < 5000; i++) {
      now += Math.floor(Math.random() * 40);
      const inWindow = kept.filter((t) => t > now - 500);
      const expected = inWindow.length < 7;
      if (expected) kept.push(now);
      expect((await rl.hit('k', 7, 500, now)).allowed).toBe(expected);
    }
  });
});
