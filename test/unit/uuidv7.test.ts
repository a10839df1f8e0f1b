import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/crypto/random.js';

describe('uuidv7', () => {
  it('is an RFC 9562 version 7 UUID carrying the millisecond time, distinct each call', () => {
    const at = Date.UTC(2026, 10, 29, 12, 0, 0, 123);
    const ids = Array.from({ length: 1000 }, () => uuidv7(at));
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(1000);
    expect(Number.parseInt(ids[0]?.replaceAll('-', '').slice(0, 12) ?? '', 16)).toBe(at);
  });

  it('sorts by creation time across milliseconds', () => {
    const ids = [1_000, 2_000, 1_000_000, 1_800_000_000_000].map((t) => uuidv7(t));
    expect([...ids].sort()).toEqual(ids);
  });
});
