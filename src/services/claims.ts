/**
 * The loop shared by every job that works through claimed rows (expiry sweep, reconciliation,
 * notification dispatch): claim a batch, work each row, and go on until a batch comes back short.
 * Claims are leases in the database, so several processes can run the same job side by side.
 */
export interface DrainOptions<T> {
  /** Claims up to `batch` rows; rows claimed are not handed to another claimer until released. */
  claim: () => Promise<T[]>;
  batch: number;
  work: (item: T) => Promise<void>;
  /** Releases a claimed row that will not be worked, so another process takes it up at once. */
  handBack: (item: T) => Promise<void>;
  onError: (item: T, err: unknown) => void;
  /** Rows worked at once within a batch. */
  parallel?: number;
  /** Stop after this many rows; the rest stay due for the next pass. */
  max?: number;
  signal?: AbortSignal | undefined;
}

/** Returns how many rows were claimed. After an abort, rows not yet started are handed back. */
export async function drainClaims<T>(o: DrainOptions<T>): Promise<number> {
  let seen = 0;
  while (!o.signal?.aborted && seen < (o.max ?? Number.POSITIVE_INFINITY)) {
    const items = await o.claim();
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        try {
          if (o.signal?.aborted) await o.handBack(item);
          else await o.work(item);
        } catch (err) {
          o.onError(item, err);
        }
      }
    };
    const lanes = Math.max(1, Math.min(o.parallel ?? 1, items.length));
    await Promise.all(Array.from({ length: lanes }, worker));
    seen += items.length;
    if (items.length < o.batch) break;
  }
  return seen;
}
