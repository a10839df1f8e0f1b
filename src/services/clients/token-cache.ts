import type { findTokenWithClient } from '../../store/client-store.js';

/**
 * How long this process trusts what it read about a token. A revocation (by the CLI or any other
 * process) takes effect here at most this long after it commits; expiry is checked on every
 * request against the row, so an expired token is never served.
 */
export const TOKEN_CACHE_TTL_MS = 500;
/** Swept every this many lookups: entries of tokens no longer presented would otherwise stay. */
const SWEEP_EVERY = 10_000;

export type TokenLookup = NonNullable<Awaited<ReturnType<typeof findTokenWithClient>>>;

interface Entry {
  /** Monotonic time the read began: a revocation committed after it is seen by the next read. */
  readAt: number;
  row: Promise<TokenLookup | undefined>;
}

/**
 * Token rows by token hash, read from the database at most once per TTL per token: one read
 * serves the concurrent requests that need it (single flight), and unknown tokens are never kept
 * (random guesses cannot fill memory). Freshness runs on the monotonic clock, not the service
 * clock, so a frozen test clock cannot make an entry live forever.
 */
export class TokenCache {
  private readonly entries = new Map<string, Entry>();
  private lookups = 0;

  constructor(private readonly ttlMs = TOKEN_CACHE_TTL_MS) {}

  get(tokenHash: string, read: () => Promise<TokenLookup | undefined>): Promise<TokenLookup | undefined> {
    const now = performance.now();
    if (++this.lookups % SWEEP_EVERY === 0) this.sweep(now);
    const hit = this.entries.get(tokenHash);
    if (hit && now - hit.readAt < this.ttlMs) return hit.row;
    const row = read().then(
      (r) => {
        if (r === undefined && this.entries.get(tokenHash)?.row === row) this.entries.delete(tokenHash);
        return r;
      },
      (err: unknown) => {
        if (this.entries.get(tokenHash)?.row === row) this.entries.delete(tokenHash);
        throw err;
      },
    );
    this.entries.set(tokenHash, { readAt: now, row });
    return row;
  }

  /** After a revocation in this process: it stops working here at once (revocations are rare). */
  clear(): void {
    this.entries.clear();
  }

  private sweep(now: number): void {
    for (const [hash, entry] of this.entries) if (now - entry.readAt >= this.ttlMs) this.entries.delete(hash);
  }
}
