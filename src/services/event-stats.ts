import type { Logger } from '../log.js';
import type { Store } from '../store/db.js';
import {
  addStats,
  bucketKey,
  bucketOf,
  hourOf,
  LATENCY_BOUNDS_MS,
  type StatDelta,
} from '../store/stats-store.js';

/**
 * Hourly counters of events that change no row — answers without a new flow (`req.reused`,
 * `req.verified`) and provider calls (`up.*`). Writing a row per event would put a write on the
 * read-only reuse path; they are summed in memory and added every few seconds and at shutdown
 * instead. A crash loses at most one interval of these counts; flow and delivery counters are
 * written with their rows and lose nothing.
 */
export class EventStats {
  private pending = new Map<string, StatDelta>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  count(clientId: string, key: string, n = 1): void {
    const hour = hourOf(this.now());
    const id = `${hour}\u0000${clientId}\u0000${key}`;
    const seen = this.pending.get(id);
    if (seen) seen.n += n;
    else this.pending.set(id, { hour, clientId, key, n });
  }

  /** One provider call: `up.<op>.<result>` and its latency bucket. */
  upstreamCall(op: string, result: string, ms: number): void {
    this.count('', `up.${op}.${result}`);
    this.count('', bucketKey('up.lat', bucketOf(LATENCY_BOUNDS_MS, ms)));
  }

  /** Writes what was counted; counts that fail to write are kept for the next flush. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = [...this.pending.values()];
      this.pending = new Map();
      try {
        await addStats(this.store.db, batch);
      } catch (err) {
        this.logger.warn({ err }, 'event statistics not written; retrying later');
        for (const d of batch) this.count(d.clientId, d.key, d.n);
      }
    });
    return this.flushing;
  }

  start(intervalMs: number): void {
    this.timer ??= setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}
