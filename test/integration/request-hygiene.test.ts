import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, FACE, startGateway, type TestGateway } from '../support/gateway.js';
import { person } from '../support/people.js';

/** Sends `path` exactly as written (no client-side `..` resolution) and returns status and body. */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    );
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: Number(text.slice(9, 12)), body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
  });
}

describe('request hygiene', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => gw?.close());

  it.each([
    'application/json; charset=latin1',
    'application/json; charset=ISO-8859-1',
    'application/json; charset=utf-16',
    'application/json; charset=UTF-16LE',
    'application/json; charset="gbk"',
  ])('refuses a body declared as %s with 415', async (contentType) => {
    const r = await api(gw, 'POST', FACE, person(95_000), { 'content-type': contentType });
    expect([r.status, r.body.responseCode, r.body.responseMsg, r.body.data]).toEqual([
      415,
      '415',
      '请求体须为 UTF-8 编码的 JSON',
      null,
    ]);
  });

  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'application/json;charset=UTF-8',
    'application/json; charset="utf8"',
  ])('accepts a body declared as %s', async (contentType) => {
    const r = await api(gw, 'POST', FACE, person(95_001), { 'content-type': contentType });
    expect(r.status).toBe(200);
  });

  it.each(['/docs/static/../x', '/docs/static/%2e%2e/x', '/docs/static/..%2fpackage.json'])(
    '%s is an unknown path (404), not a sys-id refusal',
    async (path) => {
      const r = await rawGet(gw.url, path);
      expect(r.status).toBe(404);
      expect(JSON.parse(r.body)).toMatchObject({ responseCode: '404', data: null });
      expect(r.body).not.toContain('系统类型不允许');
    },
  );
});
