import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeEndpoint, FakeEsign } from '../../src/fake-esign/server.js';
import { startFake } from '../support/esign.js';
import { type ApiResponse, api, FACE, startGateway, type TestGateway } from '../support/gateway.js';
import { person } from '../support/people.js';

/**
 * e签宝 failing for minutes (3 simulated minutes on the gateway's clock, every endpoint answering
 * HTTP 503): the circuit opens after ESIGN_CIRCUIT_FAILURES consecutive failures, answers 503
 * "circuit open" without calling upstream, lets one probe through every ESIGN_CIRCUIT_OPEN_MS,
 * and closes on the first probe that succeeds. Every flow e签宝 started (billed) is in our
 * database once; none was started twice.
 */
const FAILURES = 5;
const OPEN_MS = 30_000;
const OUTAGE_MS = 180_000;
const ENDPOINTS: FakeEndpoint[] = ['createAccount', 'getAccount', 'face', 'faceStatus', 'detail'];
const CIRCUIT_OPEN_MSG = '认证服务暂不可用（熔断保护中），请稍后重试';

describe('e签宝 down for minutes: the circuit breaker', () => {
  let fake: FakeEsign;
  let gw: TestGateway;
  let seed = 900_000;

  beforeAll(async () => {
    const upstream = await startFake();
    fake = upstream.fake;
    gw = await startGateway({
      env: {
        ...upstream.env,
        ESIGN_CIRCUIT_FAILURES: String(FAILURES),
        ESIGN_CIRCUIT_OPEN_MS: String(OPEN_MS),
        RATE_LIMIT_PER_TOKEN: '100000',
      },
      frozenClock: true,
    });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  const start = () => api(gw, 'POST', FACE, person(seed++));
  const circuitGauge = async () => {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    return Number(/^etc_esign_upstream_circuit_state (\d+)$/m.exec(text)?.[1]);
  };

  it('opens, answers without calling upstream, probes, closes, and bills every flow exactly once', async () => {
    const answers: ApiResponse[] = [];
    for (let i = 0; i < 5; i++) answers.push(await start());
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(await circuitGauge()).toBe(0);

    for (const e of ENDPOINTS) fake.script.always(e, { kind: 'http', status: 503, body: 'busy' });
    const before = fake.requests.length;
    const failing: ApiResponse[] = [];
    for (let i = 0; i < FAILURES; i++) failing.push(await start());
    expect(failing.map((a) => [a.status, a.body.responseMsg])).toEqual(
      Array(FAILURES).fill([503, '认证服务暂不可用，请稍后重试']),
    );
    expect(fake.requests.length - before).toBe(FAILURES);
    expect(await circuitGauge()).toBe(2);

    // Open: answered at once, upstream not called.
    const openedRequests = fake.requests.length;
    const open = await start();
    expect(open.status).toBe(503);
    expect(open.body).toEqual({
      requestId: open.headers.get('x-request-id'),
      responseCode: '503',
      responseMsg: CIRCUIT_OPEN_MSG,
      data: null,
    });
    expect(Number(open.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(fake.requests.length).toBe(openedRequests);

    // Minutes of outage: every 5 s a burst of 4 concurrent requests; each time the open period
    // has passed, exactly one of them probes upstream (and fails), the others are refused.
    let outageAnswers = 0;
    let probes = 0;
    for (let t = 5000; t <= OUTAGE_MS; t += 5000) {
      gw.advance(5000);
      const seen = fake.requests.length;
      const burst = await Promise.all([start(), start(), start(), start()]);
      outageAnswers += burst.length;
      expect(burst.every((a) => a.status === 503)).toBe(true);
      const reached = fake.requests.length - seen;
      expect(reached).toBeLessThanOrEqual(1);
      probes += reached;
    }
    expect(probes).toBe(OUTAGE_MS / OPEN_MS);
    expect(await circuitGauge()).toBe(2);

    // e签宝 is back: the next probe succeeds and closes the circuit.
    fake.script.clear();
    gw.advance(OPEN_MS);
    const probe = await start();
    expect(probe.status).toBe(200);
    expect(await circuitGauge()).toBe(0);
    const after: ApiResponse[] = [];
    for (let i = 0; i < 5; i++) after.push(await start());
    expect(after.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);

    // Billing: every flow e签宝 started is one PENDING flow of ours, none started twice.
    const acknowledged = [...answers, probe, ...after].map((a) => a.body.data.flowId as string);
    const upstreamFlows = [...fake.flows.values()];
    const contextIds = upstreamFlows.map((f) => f.contextId);
    expect(new Set(contextIds).size).toBe(upstreamFlows.length);
    expect(contextIds.sort()).toEqual([...acknowledged].sort());
    const rows = await gw.runtime.store.db
      .selectFrom('flows')
      .select(['id', 'provider_flow_id'])
      .where('status', '=', 'PENDING')
      .execute();
    expect(rows.map((r) => r.id).sort()).toEqual([...acknowledged].sort());

    console.log(
      `esign outage: ${OUTAGE_MS / 60_000} simulated minutes; ${FAILURES} failures opened the circuit; ` +
        `${outageAnswers + 1} requests while open answered 503 with ${probes} upstream probes; ` +
        `closed by the first successful probe; upstream flows ${upstreamFlows.length}, acknowledged ${acknowledged.length}, ` +
        `in database ${rows.length}`,
    );
  }, 60_000);
});
