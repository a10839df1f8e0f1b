import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedKeysEnv } from '../support/esign.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { type LoadSample, sleep, startFaceLoad, statusCounts, waitFor } from '../support/load.js';
import { type PgCluster, postgresBinDir, startPgCluster } from '../support/pg-cluster.js';

/**
 * PostgreSQL restarted under load, on a cluster of this test's own: requests during the outage
 * fail fast with a 503 envelope, the gateway recovers without a restart of its own, and every
 * flow it acknowledged (HTTP 200 with a flowId) is in the database afterwards.
 */
const CONNECT_TIMEOUT_MS = 2000;
/** The bound a request may take while the database is away: the connect timeout plus slack for a loaded 2-core machine. */
const OUTAGE_LATENCY_BOUND_MS = CONNECT_TIMEOUT_MS + 2000;
const OUTAGE_MS = 4000;

const hasServerBinaries = postgresBinDir() !== null;
if (!hasServerBinaries && process.env.CI === 'true') throw new Error('CI=true but initdb/pg_ctl are missing');

describe.skipIf(!hasServerBinaries)('PostgreSQL restarted during load', () => {
  let cluster: PgCluster;
  let gw: TestGateway;

  beforeAll(async () => {
    cluster = await startPgCluster();
    gw = await startGateway({
      db: { kind: 'postgres', url: cluster.url, drop: async () => {} },
      env: {
        ...sharedKeysEnv(),
        DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
        DATABASE_POOL_SIZE: '8',
        RATE_LIMIT_PER_TOKEN: '100000',
      },
    });
  });

  afterAll(async () => {
    await gw?.close();
    await cluster?.destroy();
  });

  it('answers 503 fast while it is down, recovers by itself and loses no acknowledged flow', async () => {
    const load = startFaceLoad(gw, { concurrency: 6, seedBase: 600_000, clientTimeoutMs: 20_000 });
    await waitFor(() => load.samples.filter((s) => s.status === 200).length >= 30, 15_000);

    const downAt = performance.now();
    await cluster.stop('fast');
    const stoppedAt = performance.now();
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(503);
    await sleep(OUTAGE_MS);
    const restartAt = performance.now();
    await cluster.start();
    const upAt = performance.now();

    // Recovered by itself: within 10 s of the server being back, 20 answers in a row are 200.
    const recovered = await waitFor(() => {
      const after = load.samples.filter((s) => s.sentAt > upAt);
      return after.length >= 20 && after.slice(-20).every((s) => s.status === 200);
    }, 10_000);
    const samples = await load.stop();
    expect(recovered).toBe(true);
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);

    // While the server was away (from the end of its stop to the start of its restart).
    const during = samples.filter((s) => s.sentAt >= stoppedAt && s.sentAt + s.ms <= restartAt);
    expect(during.length).toBeGreaterThan(10);
    expect(during.every((s) => s.status === 503 && s.responseCode === '503')).toBe(true);
    const maxDuring = Math.max(...during.map((s) => s.ms));
    expect(maxDuring).toBeLessThan(OUTAGE_LATENCY_BOUND_MS);
    // Around the edges a request may fail either way, but never hang, 500 or go unanswered.
    expect(samples.every((s) => s.status === 200 || s.status === 503)).toBe(true);
    expect(Math.max(...samples.map((s) => s.ms))).toBeLessThan(OUTAGE_LATENCY_BOUND_MS);

    const acknowledged = samples.filter(
      (s): s is LoadSample & { flowId: string } => s.status === 200 && !!s.flowId,
    );
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    let found = 0;
    try {
      const res = await client.query<{ id: string }>(
        "select id from flows where id = any($1::text[]) and status = 'PENDING'",
        [acknowledged.map((s) => s.flowId)],
      );
      found = res.rowCount ?? 0;
    } finally {
      await client.end();
    }
    expect(found).toBe(acknowledged.length);

    console.log(
      `postgres restart: outage ${Math.round(upAt - downAt)} ms (stop ${Math.round(stoppedAt - downAt)} ms, ` +
        `start ${Math.round(upAt - restartAt)} ms); ${during.length} requests during the outage, ` +
        `max latency ${Math.round(maxDuring)} ms; statuses ${JSON.stringify(statusCounts(samples))}; ` +
        `flows acknowledged ${acknowledged.length}, found ${found}`,
    );
  }, 60_000);
});
