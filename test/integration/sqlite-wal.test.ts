import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startFaceLoad, waitFor } from '../support/load.js';
import { tempDir } from '../support/paths.js';

/**
 * Under writes that never pause, the WAL must still be reused: each flow adds ~29 KB of WAL
 * frames, so a WAL that is only ever appended to reached 137 MB after 4,690 flows and fills a
 * disk. The checkpointer restarts it; its file stays at a few MB however long the load runs.
 */
describe('SQLite WAL under steady load', () => {
  const dbFile = path.join(tempDir('wal'), 'etc-esign.sqlite');
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startGateway({ env: { DATABASE_URL: `sqlite:${dbFile}`, RATE_LIMIT_PER_TOKEN: '100000' } });
  });

  afterAll(async () => {
    await gw?.close();
  });

  it('keeps the WAL file bounded while 3,000 new flows are written back to back', async () => {
    const load = startFaceLoad(gw, { concurrency: 8, seedBase: 700_000 });
    const done = await waitFor(() => load.samples.filter((s) => s.status === 200).length >= 3000, 60_000);
    const samples = await load.stop();
    expect(done).toBe(true);
    expect(samples.filter((s) => s.status !== 200)).toEqual([]);
    const walBytes = fs.statSync(`${dbFile}-wal`).size;
    const dbBytes = fs.statSync(dbFile).size;
    console.log(
      `sqlite wal: ${samples.length} flows; WAL file ${(walBytes / 1e6).toFixed(1)} MB, ` +
        `database ${(dbBytes / 1e6).toFixed(1)} MB`,
    );
    // Appended to without reuse, 3,000 flows leave ~87 MB of WAL.
    expect(walBytes).toBeLessThan(24e6);
  }, 90_000);
});
