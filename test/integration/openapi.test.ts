import fs from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIELD_ERROR_CODES, todayInShanghai, validateFaceRequest } from '../../src/domain/identity/index.js';
import type { FakeEsign } from '../../src/fake-esign/server.js';
import type { FaceProvider, StartFaceInput } from '../../src/providers/provider.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startFake } from '../support/esign.js';
import { type ApiResponse, api, FACE, startGateway, type TestGateway } from '../support/gateway.js';
import { person } from '../support/people.js';

const NOTIFY = '/esign/api/notify-endpoint';
const ERASE = '/esign/api/persons/erase';

// biome-ignore lint/suspicious/noExplicitAny: the served document is walked by path; each assertion pins the exact value.
type Json = any;

interface Actual {
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * Generated values (ids, links, times, secrets) differ on every run: a documented example matches
 * an actual answer when everything else is equal and each generated value is of the same kind.
 */
const GENERATED: [string, RegExp][] = [
  ['uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/],
  ['beijing time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/],
  ['short link', /^https?:\/\/[^/]+\/s\/[0-9A-Za-z]{10,}$/],
  ['long link', /^https?:\/\/[^/]+\/identity\/face\/[\w-]+$|^https?:\/\/[^/]+\/h5\/sandbox\/[\w-]+$/],
  ['account id', /^[0-9a-f]{32}$/],
  ['webhook secret', /^whsec_[A-Za-z0-9+/=]+$/],
  ['delivery id', /^msg_[0-9A-Za-z]{24}$/],
  ['notify url', /^https?:\/\/[^/]+\/[\w/-]*$/],
  ['cursor', /^[A-Za-z0-9_-]{20,}$/],
  ['masked name', /^\*+\p{Script=Han}$/u],
  ['masked ID number', /^\d{4}\*+[\dX]{4}$/],
  ['masked mobile', /^1\d{2}\*{4}\d{4}$/],
];

function kindOf(value: string): string | null {
  return GENERATED.find(([, re]) => re.test(value))?.[0] ?? null;
}

/** The paths where `documented` and `actual` differ other than in generated values of one kind. */
function differences(documented: unknown, actual: unknown, path = '$'): string[] {
  if (typeof documented === 'string' && typeof actual === 'string') {
    const kind = kindOf(documented);
    if (kind !== null)
      return kindOf(actual) === kind ? [] : [`${path}: ${JSON.stringify(actual)} is no ${kind}`];
    return documented === actual
      ? []
      : [`${path}: documented ${JSON.stringify(documented)}, got ${JSON.stringify(actual)}`];
  }
  if (Array.isArray(documented) && Array.isArray(actual)) {
    if (documented.length !== actual.length)
      return [`${path}: ${documented.length} items documented, got ${actual.length}`];
    return documented.flatMap((d, i) => differences(d, actual[i], `${path}[${i}]`));
  }
  if (documented && actual && typeof documented === 'object' && typeof actual === 'object') {
    const d = documented as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(d), ...Object.keys(a)])].sort();
    return keys.flatMap((k) =>
      k in d && k in a
        ? differences(d[k], a[k], `${path}.${k}`)
        : [`${path}.${k}: ${k in d ? 'documented only' : 'not documented'}`],
    );
  }
  return documented === actual
    ? []
    : [`${path}: documented ${JSON.stringify(documented)}, got ${JSON.stringify(actual)}`];
}

describe('the OpenAPI document tells the truth', () => {
  let fake: FakeEsign;
  let db: TestDatabase;
  let gw: TestGateway;
  let limited: TestGateway;
  let mode: 'normal' | 'hold' | 'crash' = 'normal';
  let release = () => {};
  let seed = 80_000;
  const next = () => person(seed++);
  /** Actual answers by `status` or `<operation>.<status>`. */
  const actual = new Map<string, Actual>();
  const keep = (key: string, r: ApiResponse, status: number) => {
    expect(r.status, key).toBe(status);
    actual.set(key, { status: r.status, headers: r.headers, body: r.body });
  };
  let doc: Json;

  beforeAll(async () => {
    const upstream = await startFake();
    fake = upstream.fake;
    db = await createTestDatabase('sqlite');
    gw = await startGateway({
      db,
      env: { ...upstream.env, ESIGN_REQUEST_TIMEOUT_MS: '800', NOTIFY_ALLOW_PRIVATE_NETWORKS: 'true' },
      wrapProvider: (p: FaceProvider) =>
        new Proxy(p, {
          get(target, prop, receiver) {
            if (prop === 'startFace') {
              return async (input: StartFaceInput) => {
                if (mode === 'crash') throw new Error('provider bug');
                if (mode === 'hold')
                  await new Promise<void>((r) => {
                    release = r;
                  });
                return target.startFace(input);
              };
            }
            const v = Reflect.get(target, prop, receiver);
            return typeof v === 'function' ? v.bind(target) : v;
          },
        }),
    });
    limited = await startGateway({ env: { RATE_LIMIT_PER_TOKEN: '1' }, frozenClock: true });
    doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as Json;

    const started = await api(gw, 'POST', FACE, next());
    keep('face.200', started, 200);
    keep('query.200', await api(gw, 'GET', `${FACE}/${started.body.data.flowId}`), 200);
    keep(
      'face.400',
      await api(gw, 'POST', FACE, {
        name: '张三',
        idNumber: '110105194912310021',
        mobile: '1380013800',
        validPeriod: '2019.01.01-长期',
      }),
      400,
    );
    keep('list.400', await api(gw, 'GET', `${FACE}?limit=0`), 400);
    keep('401', await api({ url: gw.url, token: '' }, 'POST', FACE, next()), 401);
    keep('403', await api(gw, 'POST', FACE, next(), { 'etc-sys-id': '' }), 403);
    keep('404', await api(gw, 'GET', `${FACE}/2f1c7a52-0000-4000-8000-000000000000`), 404);
    keep('413', await api(gw, 'POST', FACE, JSON.stringify({ pad: 'x'.repeat(17_000) })), 413);
    keep('415', await api(gw, 'POST', FACE, 'name=张三', { 'content-type': 'text/plain' }), 415);
    await api(limited, 'GET', NOTIFY);
    keep('429', await api(limited, 'GET', NOTIFY), 429);

    mode = 'hold';
    const held = next();
    const first = api(gw, 'POST', FACE, held, { 'Idempotency-Key': 'order-doc-409' });
    await new Promise((r) => setTimeout(r, 200));
    keep('face.409', await api(gw, 'POST', FACE, held, { 'Idempotency-Key': 'order-doc-409' }), 409);
    release();
    await first;
    mode = 'crash';
    keep('500', await api(gw, 'POST', FACE, next()), 500);
    mode = 'normal';
    fake.script.once('face', { kind: 'error', code: 30503107 });
    keep('502', await api(gw, 'POST', FACE, next()), 502);
    fake.script.once('face', { kind: 'http', status: 503, body: 'busy' });
    keep('503', await api(gw, 'POST', FACE, next()), 503);
    fake.script.once('face', { kind: 'hang' });
    keep('504', await api(gw, 'POST', FACE, next()), 504);

    keep('notifyTest.409', await api(gw, 'POST', `${NOTIFY}/test`), 409);
    keep('notifyPut.400', await api(gw, 'PUT', NOTIFY, { url: 'ftp://issuer.example/hook' }), 400);
    keep(
      'notifyPut.200',
      await api(gw, 'PUT', NOTIFY, { url: 'http://127.0.0.1:9/etc-esign/webhooks' }),
      200,
    );
    keep('notifyGet.200', await api(gw, 'GET', NOTIFY), 200);
    keep('notifyTest.200', await api(gw, 'POST', `${NOTIFY}/test`), 200);
    keep('list.200', await api(gw, 'GET', `${FACE}?status=PENDING&limit=1`), 200);
    const erased = next();
    await api(gw, 'POST', FACE, erased);
    keep('erase.200', await api(gw, 'POST', ERASE, { idNumber: erased.idNumber }), 200);
    keep('erase.400', await api(gw, 'POST', ERASE, { idNumber: '110105194912310021' }), 400);
    if (process.env.DUMP_ACTUAL) {
      fs.writeFileSync(
        process.env.DUMP_ACTUAL,
        JSON.stringify(Object.fromEntries([...actual].map(([k, v]) => [k, v.body])), null, 2),
      );
    }
  }, 60_000);
  afterAll(async () => {
    release();
    await limited?.close();
    await gw?.close();
    await fake?.close();
    await db?.drop();
  });

  /** Which actual answer stands for an operation's documented status. */
  const OPERATIONS: Record<string, string> = {
    'post /esign/api/auth/individual/face': 'face',
    'get /esign/api/auth/individual/face/{flowId}': 'query',
    'get /esign/api/auth/individual/face': 'list',
    'get /esign/api/notify-endpoint': 'notifyGet',
    'put /esign/api/notify-endpoint': 'notifyPut',
    'post /esign/api/notify-endpoint/test': 'notifyTest',
    'post /esign/api/persons/erase': 'erase',
  };
  const documented = () =>
    Object.entries(OPERATIONS).flatMap(([key, op]) => {
      const [method, path] = key.split(' ') as [string, string];
      const responses = doc.paths[path]?.[method]?.responses ?? {};
      return Object.entries(responses).map(([status, response]) => ({
        key,
        op,
        status,
        response: response as Json,
      }));
    });

  it('describes every status of the face start separately, none as "Default Response"', () => {
    const statuses = Object.keys(doc.paths[FACE].post.responses);
    expect(statuses).toEqual([
      '200',
      '400',
      '401',
      '403',
      '409',
      '413',
      '415',
      '429',
      '500',
      '502',
      '503',
      '504',
    ]);
    for (const { key, status, response } of documented()) {
      expect(response.description, `${key} ${status}`).not.toBe('Default Response');
      const code = response.content['application/json'].schema.properties.responseCode;
      expect(code.const ?? code.enum?.[0], `${key} ${status}`).toBe(status === '200' ? '000' : status);
    }
  });

  it('documents examples that are real answers of the running gateway, status by status', () => {
    const checked = new Set<string>();
    for (const { key, op, status, response } of documented()) {
      const example = response.content['application/json'].example;
      const real = actual.get(`${op}.${status}`) ?? actual.get(status);
      expect(real, `no answer produced for ${key} ${status}`).toBeDefined();
      expect(differences(example, real?.body), `${key} ${status}`).toEqual([]);
      checked.add(`${key} ${status}`);
    }
    expect(checked.size).toBe(51);
  });

  it('documents the headers: x-request-id everywhere, Retry-After on 429, Idempotency-Key and Idempotent-Replayed', () => {
    for (const { key, status, response } of documented()) {
      expect(Object.keys(response.headers), `${key} ${status}`).toContain('x-request-id');
      const real = actual.get(status) ?? actual.get(`${OPERATIONS[key]}.${status}`);
      expect(real?.headers.get('x-request-id')).toBe(
        (real?.body as { requestId?: string } | undefined)?.requestId,
      );
    }
    expect(Object.keys(doc.paths[FACE].post.responses['429'].headers)).toEqual([
      'x-request-id',
      'retry-after',
    ]);
    expect(actual.get('429')?.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(Object.keys(doc.paths[FACE].post.responses['200'].headers)).toEqual([
      'x-request-id',
      'idempotent-replayed',
    ]);
    const param = doc.paths[FACE].post.parameters.find((p: { name: string }) => p.name === 'idempotency-key');
    expect(param).toMatchObject({ in: 'header', required: false, schema: { type: 'string', maxLength: 64 } });
  });

  it('lists every field error code the face start can answer', () => {
    const description: string = doc.paths[FACE].post.description;
    // The body's codes are pinned in the unit tests of FIELD_ERROR_CODES; these are the request's.
    const requestCodes = ['JSON_SYNTAX', 'BODY_ENCODING', 'IDEMPOTENCY_MISMATCH', 'KEY_FORMAT'];
    for (const code of [...FIELD_ERROR_CODES.map((c) => c.code), ...requestCodes]) {
      expect(description).toContain(`\`${code}\``);
    }
  });

  it('documents the notifications as webhooks with their signature headers', () => {
    expect(Object.keys(doc.webhooks)).toEqual([
      'face_auth.success',
      'face_auth.failed',
      'face_auth.expired',
      'test.ping',
    ]);
    for (const hook of Object.values(doc.webhooks) as Json[]) {
      expect(hook.post.parameters.map((p: { name: string }) => p.name)).toEqual([
        'webhook-id',
        'webhook-timestamp',
        'webhook-signature',
      ]);
      expect(hook.post.description).toContain('HMAC-SHA256');
    }
  });

  it('has a request example that passes validation and starts a flow as it is', async () => {
    const props = doc.paths[FACE].post.requestBody.content['application/json'].schema.properties;
    const body = Object.fromEntries(
      Object.entries(props).map(([k, v]) => [k, (v as { examples: string[] }).examples[0]]),
    );
    const checked = validateFaceRequest(body, { today: todayInShanghai(new Date()), minAge: 18 });
    expect(checked.ok).toBe(true);
    const r = await api(
      limited.url === gw.url ? gw : { url: gw.url, token: await gw.newClient('doc-example') },
      'POST',
      FACE,
      body,
    );
    expect(r.status).toBe(200);
  });

  it('validates as OpenAPI 3.1', async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });
});
