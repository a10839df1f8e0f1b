import http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/databases.js';
import { api, FACE, startGateway, type TestGateway } from '../support/gateway.js';
import { person } from '../support/people.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const kinds = await storeKinds();
/** 300 runs in all, split across the stores under test. */
const RUNS = Math.floor(300 / kinds.length);

interface RawRequest {
  method: string;
  /** Sent as is: may hold percent escapes, `..` and raw bytes 0x80–0xff (invalid UTF-8). */
  path: string;
  headers: Record<string, string>;
  body: Buffer | null;
  /** Send the body chunked, without content-length. */
  chunked: boolean;
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** `fetch` cannot send invalid UTF-8, raw bytes in the path or a body without content type; this can. */
function send(base: string, req: RawRequest): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...req.headers };
    // Framing is explicit: Node would send a DELETE or OPTIONS body with neither header at all.
    if (req.body) {
      if (req.chunked) headers['transfer-encoding'] = 'chunked';
      else headers['content-length'] = req.body.length;
    }
    const r = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.path,
        headers,
        agent: false,
        setHost: true,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    r.setTimeout(10_000, () =>
      r.destroy(new Error(`no answer in 10 s to ${req.method} ${describePath(req.path)}`)),
    );
    r.on('error', reject);
    if (req.body) r.end(req.body);
    else r.end();
  });
}

/** The path as printable ASCII (raw bytes as \xNN), cut short when very long. */
const describePath = (p: string) => {
  const shown = p.replace(/[^\x21-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return shown.length > 120 ? `${shown.slice(0, 120)}…(${p.length} chars)` : shown;
};

/** Header values Node will put on the wire: no control characters, no code points above 0xff. */
const headerValue = fc
  .oneof(
    fc.string({ maxLength: 40 }),
    fc.string({
      unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)),
      maxLength: 40,
    }),
    fc.stringMatching(/^[0-9A-Za-z]{32}$/),
    fc.constant('x'.repeat(2000)),
  )
  .map((s) => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, ''));

const anyValue = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 40 }),
  fc.constant('𠀀'.repeat(33)),
  fc.constant('张'.repeat(100_000)),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
);

const realPerson = fc.integer({ min: 32_000, max: 32_019 }).map((n) => person(n));

const fourFields = fc.oneof(
  fc.record(
    { name: anyValue, idNumber: anyValue, mobile: anyValue, validPeriod: anyValue, extra: anyValue },
    { requiredKeys: [] },
  ),
  // A real person with one field replaced: gets past more of the validation.
  fc
    .tuple(realPerson, fc.constantFrom('name', 'idNumber', 'mobile', 'validPeriod'), anyValue)
    .map(([p, key, v]) => ({ ...p, [key]: v })),
  realPerson,
);

const deep = (depth: number, open: string, close: string) => open.repeat(depth) + close.repeat(depth);

const jsonText = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
  fourFields.map((v) => JSON.stringify(v)),
  fc.constantFrom(
    '{"__proto__":{"isAdmin":true},"name":"张三"}',
    '{"constructor":{"prototype":{"polluted":1}}}',
    '{"name":{"__proto__":{"x":1}}}',
    '{"__proto__":null}',
    '{"toString":"x","valueOf":1,"hasOwnProperty":2}',
    deep(8000, '[', ']'),
    deep(2700, '{"a":', '}').replace(/}$/, '1}'),
    `{"name":"${'x'.repeat(16_400)}"}`,
    `{"name":"${'x'.repeat(200_000)}"}`,
    '',
    ' ',
    'null',
    '"just a string"',
    '[]',
    '{',
    '{"name":"\\ud800"}',
    '{"name":"a\\u0000b","idNumber":"\\u0000"}',
  ),
);

const body: fc.Arbitrary<Buffer | null> = fc.oneof(
  { weight: 5, arbitrary: jsonText.map((t) => Buffer.from(t, 'utf8')) },
  // Raw bytes, mostly invalid UTF-8, alone or inside a JSON string.
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ minLength: 1, maxLength: 20 })
      .map((a) =>
        Buffer.concat([Buffer.from('{"name":"'), Buffer.from(a.map((b) => b | 0x80)), Buffer.from('"}')]),
      ),
  },
  { weight: 1, arbitrary: fc.constant(Buffer.from([0xff, 0xfe, 0x7b, 0x7d])) },
  { weight: 1, arbitrary: fc.constant(null) },
);

const contentType = fc.option(
  fc.oneof(
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=gbk',
      'APPLICATION/JSON',
      'application/json, text/plain',
      'application/vnd.api+json',
      'multipart/form-data',
      'multipart/form-data; boundary=----x',
      'application/x-www-form-urlencoded',
      'text/plain',
      'text/html; charset=utf-8',
      '*/*',
      ';',
      '',
    ),
    headerValue,
  ),
  { nil: undefined },
);

const percentBytes = fc
  .uint8Array({ minLength: 1, maxLength: 30 })
  .map((a) => [...a].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join(''));

const segment = fc.oneof(
  fc.stringMatching(/^[0-9A-Za-z]{1,70}$/),
  fc.uuid(),
  fc.constantFrom(
    '%00',
    'a%00b',
    '..%2f..%2f',
    '..%2F..%2Fetc%2Fpasswd',
    '%2e%2e',
    '%',
    '%zz',
    '%E4%B8',
    '%FF',
    '%C0%AE',
    'sbx_%00',
    '00000000-0000-4000-8000-000000000000',
  ),
  fc.constant('a'.repeat(6000)),
  percentBytes,
  // Raw bytes 0x80–0xff straight into the request line: invalid UTF-8 on the wire.
  fc.string({
    unit: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
    minLength: 1,
    maxLength: 10,
  }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }).map((s) => encodeURIComponent(s)),
);

const query = fc.option(
  fc.oneof(
    fc.constant('?a=1&a=2'),
    segment.map((s) => `?flowId=${s}`),
    fc.constant('?__proto__[x]=1&constructor[prototype][y]=2'),
  ),
  { nil: '' },
);

/** Where a path may be answered with an HTML page instead of the envelope. */
const PAGE_PREFIXES = ['/s/', '/h5/sandbox/', '/h5/result/'];

const path = fc
  .tuple(
    fc.oneof(
      fc.constant(FACE),
      segment.map((s) => `${FACE}/${s}`),
      fc.constantFrom('../', '../../healthz', './x', '').map((s) => `${FACE}/${s}`),
      segment.map((s) => `/s/${s}`),
      segment.map((s) => `/h5/sandbox/${s}`),
      segment.map((s) => `/h5/sandbox/sbx_${s}`),
      segment.map((s) => `/h5/result/${s}`),
      segment.map((s) => `/esign/api/${s}`),
      segment.map((s) => `/esign/callbacks/${s}`),
      segment.map((s) => `/${s}`),
      fc.constantFrom('/', '//', '/esign', '/esign/api', '/esign/api/', '/healthz', '/readyz', '/h5', '/s'),
    ),
    query,
  )
  .map(([p, q]) => p + q);

const method = fc.constantFrom(
  'GET',
  'POST',
  'POST',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'HEAD',
  'PROPFIND',
  'SEARCH',
);

const anyRequest = (validToken: string): fc.Arbitrary<RawRequest> =>
  fc
    .record({
      method,
      path,
      token: fc.option(fc.oneof(fc.constant(validToken), headerValue), { nil: undefined }),
      sysId: fc.option(
        fc.oneof(fc.constant('E02'), fc.constantFrom('E01', 'e02', 'E02 ', 'E02,E02'), headerValue),
        {
          nil: undefined,
        },
      ),
      contentType,
      body,
      chunked: fc.boolean(),
      extra: fc.dictionary(
        fc.constantFrom('x-request-id', 'x-forwarded-for', 'accept', 'content-encoding'),
        headerValue,
        {
          maxKeys: 2,
        },
      ),
    })
    .map(({ method, path, token, sysId, contentType, body, chunked, extra }) => {
      const headers: Record<string, string> = { ...extra };
      if (token !== undefined) headers['etc-token'] = token;
      if (sysId !== undefined) headers['etc-sys-id'] = sysId;
      if (contentType !== undefined) headers['content-type'] = contentType;
      return { method, path, headers, body: method === 'GET' || method === 'HEAD' ? null : body, chunked };
    });

/** A client call that is right but for its body: reaches validation, the services and the store. */
const nearValid = (validToken: string): fc.Arbitrary<RawRequest> =>
  fc
    .record({
      body: fc.oneof(
        fourFields.map((v) => JSON.stringify(v)),
        jsonText,
      ),
      contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8'),
      chunked: fc.boolean(),
    })
    .map(({ body, contentType, chunked }) => ({
      method: 'POST',
      path: FACE,
      headers: { 'etc-token': validToken, 'etc-sys-id': 'E02', 'content-type': contentType },
      body: Buffer.from(body, 'utf8'),
      chunked,
    }));

const request = (validToken: string): fc.Arbitrary<RawRequest> =>
  fc.oneof({ weight: 2, arbitrary: anyRequest(validToken) }, { weight: 1, arbitrary: nearValid(validToken) });

/** Requests that have broken gateways before; they run first, every time. */
function knownNasty(validToken: string): RawRequest[] {
  const auth = { 'etc-token': validToken, 'etc-sys-id': 'E02' };
  const json = { ...auth, 'content-type': 'application/json' };
  const get = (path: string): RawRequest => ({
    method: 'GET',
    path,
    headers: auth,
    body: null,
    chunked: false,
  });
  return [
    get(`${FACE}/%00`),
    get(`${FACE}/a%00b`),
    get(`${FACE}/%FF`),
    get(`${FACE}/%E4%B8`),
    get(`${FACE}/\xff\xfe`),
    get(`${FACE}/..%2f..%2f`),
    get(`${FACE}/${'a'.repeat(6000)}`),
    get('/h5/sandbox/%00'),
    get('/h5/sandbox/sbx_%00'),
    get('/h5/result/%00'),
    get('/s/%00'),
    get('/s/%FF'),
    get('/nope/%'),
    get('/\xc3\x28'),
    // Over Node's 16 KiB header limit: refused by the HTTP parser before routing.
    get(`${FACE}/${'a'.repeat(20_000)}`),
    get('/s/x\x7f'),
    { method: 'POST', path: FACE, headers: json, body: Buffer.from([0xc3, 0x28, 0xff]), chunked: false },
    { method: 'POST', path: FACE, headers: auth, body: Buffer.from('{"name":"x"}'), chunked: true },
    { method: 'POST', path: FACE, headers: json, body: Buffer.from(deep(8000, '[', ']')), chunked: false },
    {
      method: 'POST',
      path: FACE,
      headers: { ...auth, 'content-type': 'application/json; charset=gbk' },
      body: Buffer.from('{}'),
      chunked: false,
    },
    {
      method: 'POST',
      path: '/h5/sandbox/sbx_000000000000000000000000',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: Buffer.from(`consent=yes&result=success&reason=${'%FF'.repeat(100)}`),
      chunked: false,
    },
    {
      method: 'POST',
      path: '/h5/sandbox/%00',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: Buffer.from('consent=yes&result=success'),
      chunked: false,
    },
  ];
}

/**
 * fast-check's own report prints the counterexample whole: the valid token and any test person's
 * data in the body. This one prints what is needed to replay it (seed, path) and the request's
 * shape only.
 */
function redactedReport(details: fc.RunDetails<[RawRequest]>): void {
  if (!details.failed) return;
  const req = details.counterexample?.[0];
  const shape = req
    ? `${req.method} ${describePath(req.path)}; headers ${Object.keys(req.headers).join(', ') || '(none)'}; ` +
      `content-type ${JSON.stringify(req.headers['content-type'] ?? null)}; ` +
      `body ${req.body ? `${req.body.length} bytes${req.chunked ? ', chunked' : ''}` : 'none'}`
    : '(no counterexample)';
  const cause =
    details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `fuzzing failed after ${details.numRuns} runs (replay: seed ${details.seed}, path "${details.counterexamplePath}")\n` +
      `request: ${shape}\n${cause}`,
  );
}

/** The invariants every answer keeps, whatever was sent. */
function checkResponse(req: RawRequest, res: RawResponse): void {
  const what = `${req.method} ${describePath(req.path)} → ${res.status}`;
  expect(res.status, what).toBeGreaterThanOrEqual(200);
  expect(res.status, what).toBeLessThan(500);
  const requestId = res.headers['x-request-id'];
  expect(typeof requestId === 'string' && UUID.test(requestId), `${what}: x-request-id ${requestId}`).toBe(
    true,
  );
  if (req.method === 'HEAD') return;
  const type = String(res.headers['content-type'] ?? '');
  const isPagePath = PAGE_PREFIXES.some((p) => req.path.startsWith(p));
  if (isPagePath && type.startsWith('text/html')) {
    expect(['GET', 'POST'], what).toContain(req.method);
    return;
  }
  expect(type, what).toBe('application/json; charset=utf-8');
  const json = JSON.parse(res.body.toString('utf8'));
  expect(Object.keys(json), what).toEqual(['requestId', 'responseCode', 'responseMsg', 'data']);
  expect(json.requestId, what).toBe(requestId);
  expect(json.responseCode, what).toBe(res.status === 200 ? '000' : String(res.status));
  expect(typeof json.responseMsg, what).toBe('string');
  expect(json.responseMsg.length, what).toBeGreaterThan(0);
}

describe.each(kinds)('fuzzing the front door on %s', (kind) => {
  let db: TestDatabase;
  let gw: TestGateway;
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    // Rate limits would turn most requests into 429s and hide the code paths behind them.
    gw = await startGateway({
      db,
      env: { RATE_LIMIT_PER_TOKEN: '1000000', RATE_LIMIT_NEW_FLOWS_PER_PERSON: '1000000' },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await db?.drop();
  });

  it('answers the known-nasty requests without a 5xx, always with the envelope outside the pages', async () => {
    for (const req of knownNasty(gw.token)) checkResponse(req, await send(gw.url, req));
  });

  it(`answers ${RUNS} random requests without a 5xx, always with the envelope outside the pages`, async () => {
    await fc.assert(
      fc.asyncProperty(request(gw.token), async (req) => {
        const res = await send(gw.url, req);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        checkResponse(req, res);
      }),
      {
        numRuns: RUNS,
        interruptAfterTimeLimit: 25_000,
        markInterruptAsFailure: false,
        reporter: redactedReport,
      },
    );
    // The generators reach past the front door: some requests pass authentication and validation.
    const seen = [...statuses.keys()].sort();
    expect(seen).toContain(200);
    expect(seen).toContain(400);
    expect(seen).toContain(404);
  }, 30_000);

  it('still serves health and real requests afterwards', async () => {
    const health = await fetch(`${gw.url}/healthz`);
    expect(health.status).toBe(200);
    expect((await health.json()).data).toEqual({ status: 'ok' });
    const r = await api(gw, 'POST', FACE, person(32_100 + (kind === 'postgres' ? 1 : 0)));
    expect(r.status).toBe(200);
    expect(r.body.data.message).toBe('success');
    const q = await api(gw, 'GET', `${FACE}/${r.body.data.flowId}`);
    expect(q.body.data.status).toBe('PENDING');
  });
});
