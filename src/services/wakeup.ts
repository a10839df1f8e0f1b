/**
 * Wakes a sleeping job loop early. A status change commits its outbox row and then calls
 * `notify()`, so the dispatcher in the same process sends at once instead of on its next tick;
 * other processes still find the row on their own ticks.
 */
export class Wakeup {
  private pending = false;
  private readonly waiters = new Set<() => void>();

  notify(): void {
    this.pending = true;
    for (const wake of this.waiters) wake();
  }

  /** Resolves after `ms`, or earlier on `notify()` (also one that came while nobody waited) or abort. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.pending || signal?.aborted) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        this.pending = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
