import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeEsign } from '../../src/fake-esign/server.js';
import { startFake } from '../support/esign.js';
import { api, FACE, startGateway, type TestGateway } from '../support/gateway.js';
import { person } from '../support/people.js';

const BEIJING = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/;

describe('/readyz with PROVIDER=esign', () => {
  let fake: FakeEsign;
  let gw: TestGateway;

  beforeAll(async () => {
    const upstream = await startFake();
    fake = upstream.fake;
    gw = await startGateway({ env: { ...upstream.env, ESIGN_CONNECT_TIMEOUT_MS: '500' } });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  const readyz = async () => {
    const res = await fetch(`${gw.url}/readyz`);
    return { status: res.status, data: (await res.json()).data };
  };

  it('reports e签宝 as the last real call saw it, never calling it, and stays ready when it is down', async () => {
    expect(await readyz()).toEqual({
      status: 200,
      data: { ok: true, database: 'ok', rateLimits: 'memory', esign: { status: 'unknown' } },
    });
    expect(fake.requests).toHaveLength(0);

    expect((await api(gw, 'POST', FACE, person(43_001))).status).toBe(200);
    const seen = fake.requests.length;
    const up = await readyz();
    expect(up).toEqual({
      status: 200,
      data: {
        ok: true,
        database: 'ok',
        rateLimits: 'memory',
        esign: { status: 'reachable', lastCallAt: expect.stringMatching(BEIJING) },
      },
    });
    await readyz();
    expect(fake.requests).toHaveLength(seen);

    await fake.close();
    const refused = await api(gw, 'POST', FACE, person(43_002));
    expect(refused.status).toBe(503);
    expect(await readyz()).toEqual({
      status: 200,
      data: {
        ok: true,
        database: 'ok',
        rateLimits: 'memory',
        esign: { status: 'unreachable', lastCallAt: expect.stringMatching(BEIJING) },
      },
    });
  });
});
