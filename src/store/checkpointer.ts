import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the WAL is copied back into the database file. */
const CHECKPOINT_INTERVAL_MS = 100;
/**
 * WAL frames (4 KB pages) above which a pass also makes the next writer start the WAL afresh. Small:
 * on a database of 1M flows a short WAL keeps reads and checkpoints cheap (grown bench 0.88 of
 * new-person at 250 frames, 0.68–0.74 at 1,000, 0.47 at 4,000).
 */
const RESTART_FRAMES = 250;

// Plain CommonJS for an `eval` worker: it runs beside the compiled ESM without a file of its own.
const SOURCE = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
db.pragma('synchronous = FULL');
setInterval(() => {
  try {
    const [pass] = db.pragma('wal_checkpoint(PASSIVE)');
    // Under steady writes the WAL is never wholly copied when the next batch begins, so it is never
    // reused and grows without end (137 MB in 6 s). RESTART takes the write lock for the few frames
    // PASSIVE left, and the next writer then starts from the top of the file.
    if (pass.log > workerData.restartFrames) db.pragma('wal_checkpoint(RESTART)');
  } catch {
    // A busy or failed pass is retried on the next tick; the WAL only grows meanwhile.
  }
}, workerData.intervalMs);
`;

/**
 * WAL checkpoints on a thread of their own, through a second connection. SQLite's automatic
 * checkpoint runs inside whichever commit crosses the threshold — on the event loop, mostly fsync,
 * stalling every request behind it. With `wal_autocheckpoint = 0` on the serving connection, this
 * worker's PASSIVE checkpoints copy committed pages without blocking writers or the event loop.
 */
export function startCheckpointer(file: string): { stop(): Promise<void> } {
  const worker = new Worker(SOURCE, {
    eval: true,
    workerData: {
      file,
      driver: createRequire(import.meta.url).resolve('better-sqlite3'),
      intervalMs: CHECKPOINT_INTERVAL_MS,
      restartFrames: RESTART_FRAMES,
    },
  });
  // Checkpoints never keep a process alive (the CLI exits when its work is done).
  worker.unref();
  worker.on('error', () => {
    // Without checkpoints the WAL grows until the next start; serving goes on.
  });
  return {
    async stop() {
      await worker.terminate();
    },
  };
}
