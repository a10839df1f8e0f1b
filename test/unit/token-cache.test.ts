import { describe, expect, it } from 'vitest';
import { TokenCache, type TokenLookup } from '../../src/services/clients/token-cache.js';

const row = (id: string): TokenLookup => ({
  token_id: id,
  expires_at: null,
  revoked_at: null,
  last_used_at: null,
  client_id: 'c1',
  client_name: 'acme',
  sys_ids: 'E02',
});

describe('TokenCache', () => {
  it('reads once for concurrent lookups and again only after the TTL', async () => {
    const cache = new TokenCache(40);
    let reads = 0;
    const read = async () => {
      reads++;
      return row('t1');
    };
    const first = await Promise.all([cache.get('h', read), cache.get('h', read), cache.get('h', read)]);
    expect(first.map((r) => r?.token_id)).toEqual(['t1', 't1', 't1']);
    expect(reads).toBe(1);
    await cache.get('h', read);
    expect(reads).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    await cache.get('h', read);
    expect(reads).toBe(2);
  });

  it('keeps neither unknown tokens nor failed reads, and forgets everything on clear', async () => {
    const cache = new TokenCache(10_000);
    let reads = 0;
    const missing = async () => {
      reads++;
      return undefined;
    };
    expect(await cache.get('x', missing)).toBeUndefined();
    expect(await cache.get('x', missing)).toBeUndefined();
    expect(reads).toBe(2);
    await expect(cache.get('y', () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect((await cache.get('y', async () => row('t2')))?.token_id).toBe('t2');
    cache.clear();
    expect((await cache.get('y', async () => row('t3')))?.token_id).toBe('t3');
  });
});
