import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, revokeToken } from '../../src/services/clients/tokens.js';
import { api, FACE, startGateway, type TestGateway } from '../support/gateway.js';
import { recordSecret } from '../support/paths.js';
import { person } from '../support/people.js';

const UNAUTHORIZED = { responseCode: '401', responseMsg: '访问令牌无效或已过期', data: null };

describe('front door: envelope, authentication, body handling', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => gw?.close());

  const raw = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
    fetch(gw.url + path, {
      ...init,
      headers: { 'etc-token': gw.token, 'etc-sys-id': 'E02', ...init.headers },
    });

  it('gives every token failure the same 401 body, before looking at the body', async () => {
    const expired = await createToken(gw.runtime, 'acme', 1000);
    const revoked = await createToken(gw.runtime, 'acme', null);
    recordSecret(expired.token);
    recordSecret(revoked.token);
    await revokeToken(gw.runtime, revoked.id);
    gw.advance(2000);
    const bodies = [];
    for (const token of [
      undefined,
      '',
      'short',
      'x'.repeat(32),
      'y'.repeat(500),
      expired.token,
      revoked.token,
    ]) {
      const headers: Record<string, string> = { 'etc-sys-id': 'E02', 'content-type': 'application/json' };
      if (token !== undefined) headers['etc-token'] = token;
      // A body that is too large and malformed: the token check must answer first.
      const res = await fetch(gw.url + FACE, { method: 'POST', headers, body: `{${'a'.repeat(20_000)}` });
      expect(res.status).toBe(401);
      const body = await res.json();
      expect(body.requestId).toBe(res.headers.get('x-request-id'));
      const { requestId: _, ...rest } = body;
      bodies.push(rest);
    }
    for (const b of bodies) expect(b).toEqual(UNAUTHORIZED);
    gw.advance(-2000);
  });

  it('answers 403 for a missing or wrong etc-sys-id with a valid token', async () => {
    for (const sys of ['', 'E01', 'e02', 'E02,E01']) {
      const res = await raw(FACE, {
        method: 'POST',
        headers: { 'etc-sys-id': sys, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({
        responseCode: '403',
        responseMsg:
          sys === '' ? '缺少请求头 etc-sys-id，应为 E02' : '请求头 etc-sys-id 取值不允许，应为 E02',
        data: null,
      });
    }
  });

  it('refuses a body that is not UTF-8 (GBK) as BODY_ENCODING, not as a bad name', async () => {
    const p = person(90_001);
    // The name in GBK: 0xD5C5 0xC8FD is 张三.
    const gbk = Buffer.concat([
      Buffer.from('{"name":"'),
      Buffer.from([0xd5, 0xc5, 0xc8, 0xfd]),
      Buffer.from(`","idNumber":"${p.idNumber}","mobile":"${p.mobile}","validPeriod":"${p.validPeriod}"}`),
    ]);
    const res = await raw(FACE, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: gbk,
    });
    expect(res.status).toBe(400);
    expect((await res.json()).data).toEqual({
      errors: [{ field: 'body', code: 'BODY_ENCODING', message: '请求体须为 UTF-8 编码的 JSON' }],
    });
  });

  it('answers a JSON number where a string belongs with TYPE, not REQUIRED', async () => {
    const p = person(90_002);
    const r = await api(gw, 'POST', FACE, { ...p, mobile: Number(p.mobile) });
    expect(r.status).toBe(400);
    expect(r.body.data).toEqual({ errors: [{ field: 'mobile', code: 'TYPE', message: '手机号须为字符串' }] });
  });

  it('answers 405 with Allow for a known path asked with another method', async () => {
    for (const [method, path, allow] of [
      ['GET', '/esign/api/notify-endpoint/test', 'POST'],
      ['DELETE', FACE, 'POST, GET, HEAD'],
      ['POST', `${FACE}/2f1c7a52-0000-4000-8000-000000000000`, 'GET, HEAD'],
    ] as const) {
      const res = await raw(path, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe(allow);
      expect(await res.json()).toMatchObject({
        responseCode: '405',
        responseMsg: '请求方法不允许',
        data: null,
      });
    }
    expect((await raw('/esign/api/nothing-here')).status).toBe(404);
  });

  it('maps body problems to 400, 413 and 415 envelopes', async () => {
    const cases: [RequestInit, number, string, unknown][] = [
      [
        { body: '{"name":', headers: { 'content-type': 'application/json' } },
        400,
        '400',
        { errors: [{ field: 'body', code: 'JSON_SYNTAX', message: '请求体不是合法的JSON' }] },
      ],
      [
        {
          body: JSON.stringify({ name: 'x'.repeat(17_000) }),
          headers: { 'content-type': 'application/json' },
        },
        413,
        '413',
        null,
      ],
      [
        { body: 'name=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        415,
        '415',
        null,
      ],
      [{ body: 'x', headers: { 'content-type': 'text/plain' } }, 415, '415', null],
      [
        { body: '{"__proto__":{"a":1}}', headers: { 'content-type': 'application/json' } },
        400,
        '400',
        { errors: [{ field: 'body', code: 'JSON_SYNTAX', message: '请求体不是合法的JSON' }] },
      ],
    ];
    for (const [init, status, code, data] of cases) {
      const res = await raw(FACE, { method: 'POST', ...init } as RequestInit & {
        headers: Record<string, string>;
      });
      expect(res.status).toBe(status);
      const body = await res.json();
      expect(body).toEqual({
        requestId: res.headers.get('x-request-id'),
        responseCode: code,
        responseMsg: expect.any(String),
        data,
      });
    }
  });

  it('answers unknown routes with the 404 envelope', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['DELETE', '/esign/api/auth/individual'],
      ['GET', '/esign/api'],
    ]) {
      const res = await raw(path as string, { method });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({
        requestId: res.headers.get('x-request-id'),
        responseCode: '404',
        responseMsg: '接口不存在',
        data: null,
      });
    }
  });

  it('serves health, readiness and the OpenAPI document from the validating schemas', async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    const ready = await (await fetch(`${gw.url}/readyz`)).json();
    expect(ready.data).toEqual({ ok: true, database: 'ok', rateLimits: 'memory' });
    const doc = await (await fetch(`${gw.url}/docs/json`)).json();
    const op = doc.paths['/esign/api/auth/individual/face'].post;
    const schema = op.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(['name', 'idNumber', 'mobile', 'validPeriod']);
    expect(schema.properties.idNumber.maxLength).toBe(32);
    expect(op.description).toContain('ID_CHECKSUM');
    expect(doc.paths['/esign/api/auth/individual/face/{flowId}'].get).toBeDefined();
    expect((await fetch(`${gw.url}/docs`)).status).toBeLessThan(400);
  });

  it('never echoes submitted personal data in an error', async () => {
    const p = person(7001);
    const bad = { ...p, idNumber: `${p.idNumber.slice(0, 17)}${p.idNumber.endsWith('0') ? '1' : '0'}` };
    const r = await api(gw, 'POST', FACE, bad);
    expect(r.status).toBe(400);
    const text = JSON.stringify(r.body);
    for (const v of [bad.idNumber, p.mobile, p.name]) expect(text).not.toContain(v);
  });
});
