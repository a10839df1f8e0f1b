import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { type LoadSample, sleep, startFaceLoad, statusCounts, waitFor } from '../support/load.js';
import { mountSmallDisk, type SmallDisk } from '../support/small-disk.js';

/**
 * SQLite on a disk that fills up under load (a 32 MB tmpfs of the test's own: room for the
 * database and the few MB of WAL the checkpointer lets it keep): writes answer 503 with one clear
 * log line, nothing acknowledged is lost, the database passes its integrity check, and serving
 * resumes by itself once space is freed.
 */
const disk = mountSmallDisk(32);
if (!disk)
  console.log('cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): skipping the full-disk test');

/** e.g. `etc-esign.sqlite=1.2MB etc-esign.sqlite-wal=3.7MB`: what holds the disk. */
function fileSizes(dir: string): string {
  return fs
    .readdirSync(dir)
    .filter((f) => f !== 'filler')
    .map((f) => `${f}=${(fs.statSync(path.join(dir, f)).size / 1e6).toFixed(1)}MB`)
    .join(' ');
}

describe.skipIf(!disk)('SQLite on a full disk', () => {
  const small = disk as SmallDisk;
  const dbFile = path.join(small.dir, 'etc-esign.sqlite');
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startGateway({ env: { DATABASE_URL: `sqlite:${dbFile}`, RATE_LIMIT_PER_TOKEN: '100000' } });
  });

  afterAll(async () => {
    await gw?.close();
    small.unmount();
  });

  it('answers 503 with a clear log line while full, loses nothing and resumes when space returns', async () => {
    const load = startFaceLoad(gw, { concurrency: 4, seedBase: 800_000 });
    await waitFor(() => load.samples.filter((s) => s.status === 200).length >= 20, 15_000);

    const fullAt = performance.now();
    const atFill = fileSizes(small.dir);
    small.fill();
    const filledAt = performance.now();
    const sawFull = await waitFor(
      () => load.samples.filter((s) => s.sentAt > filledAt && s.status === 503).length >= 20,
      15_000,
    );
    // Stay full for a while: 2 s of writes failing, not just the first few.
    await sleep(Math.max(0, 2000 - (performance.now() - filledAt)));
    const freedAt = performance.now();
    small.free();
    const resumed = await waitFor(() => {
      const after = load.samples.filter((s) => s.sentAt > freedAt);
      return after.length >= 20 && after.slice(-20).every((s) => s.status === 200);
    }, 15_000);
    const samples = await load.stop();
    expect(sawFull).toBe(true);
    if (!resumed) {
      const after = samples.filter((s) => s.sentAt > freedAt);
      console.log(
        `not resumed: ${after.length} requests after freeing, statuses ${JSON.stringify(statusCounts(after))}, ` +
          `files at fill ${atFill}, now ${fileSizes(small.dir)}, ` +
          `last ${JSON.stringify(after.slice(-8).map((s) => [s.status, Math.round(s.sentAt - freedAt), Math.round(s.ms)]))}`,
      );
    }
    expect(resumed).toBe(true);

    expect(statusCounts(samples.filter((s) => s.status !== 200 && s.status !== 503))).toEqual({});
    const full = samples.filter((s) => s.sentAt >= filledAt && s.sentAt + s.ms <= freedAt);
    const rejected = full.filter((s) => s.status === 503);
    expect(rejected.every((s) => s.responseCode === '503')).toBe(true);
    const maxDuring = Math.max(...full.map((s) => s.ms));

    const logLines = fs
      .readFileSync(gw.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"database unavailable"'))
      .map((l) => JSON.parse(l) as { level: number; detail: string });
    // Thousands of refused writes, one line: the cause is written once per 10 s, not per request.
    expect(logLines).toEqual([
      expect.objectContaining({
        level: 50,
        detail: 'SQLite: database or disk is full (SQLITE_FULL); writes fail until space is freed',
        failedSinceLastLine: 0,
      }),
    ]);

    await gw.close();
    const db = new SqliteDatabase(dbFile, { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const acknowledged = samples.filter(
        (s): s is LoadSample & { flowId: string } => s.status === 200 && !!s.flowId,
      );
      const ids = new Set(
        (db.prepare("select id from flows where status = 'PENDING'").all() as { id: string }[]).map(
          (r) => r.id,
        ),
      );
      const found = acknowledged.filter((s) => ids.has(s.flowId)).length;
      expect(found).toBe(acknowledged.length);
      console.log(
        `sqlite disk full: full for ${Math.round(freedAt - fullAt)} ms, ${full.length} requests meanwhile ` +
          `(${rejected.length} answered 503), max latency ${Math.round(maxDuring)} ms; ` +
          `statuses ${JSON.stringify(statusCounts(samples))}; flows acknowledged ${acknowledged.length}, found ${found}; ` +
          `integrity_check ok; files at fill ${atFill}, at end ${fileSizes(small.dir)}`,
      );
    } finally {
      db.close();
    }
  }, 60_000);
});
