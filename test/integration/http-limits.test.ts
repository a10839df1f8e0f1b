import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { sleep } from '../support/load.js';

const REQUEST_TIMEOUT_MS = 2000;
const HEADERS_TIMEOUT_MS = 1000;
/** Node checks timeouts every quarter of the headers timeout (250 ms here); slack for a loaded machine. */
const CLOSE_BOUND_MS = REQUEST_TIMEOUT_MS + 250 + 1500;

interface RawSocket {
  socket: net.Socket;
  openedAt: number;
  closedAfter: Promise<number>;
  received: () => string;
}

function rawSocket(port: number, send?: string): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => {});
    socket.once('error', reject);
    socket.once('connect', () => {
      const openedAt = performance.now();
      if (send) socket.write(send);
      resolve({
        socket,
        openedAt,
        closedAfter: new Promise((r) => socket.once('close', () => r(performance.now() - openedAt))),
        received: () => Buffer.concat(chunks).toString('utf8'),
      });
    });
  });
}

/** GET on a fresh connection (never a pooled one), so it shows whether new connections are served. */
function freshGet(
  port: number,
  path: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString('utf8');
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

describe('HTTP socket limits', () => {
  let gw: TestGateway;
  let port: number;
  beforeAll(async () => {
    gw = await startGateway({
      env: {
        HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
        HTTP_MAX_CONNECTIONS_PER_IP: '400',
      },
    });
    port = Number(new URL(gw.url).port);
  });
  afterAll(async () => gw?.close());

  it('closes stalled-body, stalled-header and silent sockets within the bound while /healthz answers throughout', async () => {
    const stalledBody =
      'POST /nothing HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n';
    const sockets = await Promise.all([
      ...Array.from({ length: 150 }, () => rawSocket(port, stalledBody)),
      ...Array.from({ length: 50 }, () => rawSocket(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n')),
      ...Array.from({ length: 50 }, () => rawSocket(port)),
    ]);
    const health: number[] = [];
    let done = false;
    const poll = (async () => {
      while (!done) {
        health.push((await freshGet(port, '/healthz').catch(() => ({ status: 0 }))).status);
        await sleep(100);
      }
    })();
    const closed = await Promise.all(sockets.map((s) => s.closedAfter));
    done = true;
    await poll;

    const slowest = Math.max(...closed);
    expect(slowest).toBeLessThan(CLOSE_BOUND_MS);
    expect(health.length).toBeGreaterThan(5);
    expect(health.every((s) => s === 200)).toBe(true);
    // Headers that never finished: a 408 envelope. A stalled body belongs to a request already
    // routed, so its socket is just closed.
    const headerStalled = sockets.slice(150, 200).map((s) => s.received());
    for (const text of headerStalled) {
      expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(text).toContain('"responseCode":"408","responseMsg":"请求超时"');
    }
    console.log(
      `stalled sockets: 250 (150 stalled bodies, 50 stalled headers, 50 silent) all closed after at most ${Math.round(slowest)} ms ` +
        `(request timeout ${REQUEST_TIMEOUT_MS} ms, headers ${HEADERS_TIMEOUT_MS} ms); /healthz answered 200 ${health.length} times meanwhile`,
    );
  });

  it('answers an oversized header block with 431 in the envelope', async () => {
    const s = await rawSocket(
      port,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    await s.closedAfter;
    expect(s.received()).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(s.received()).toContain('x-content-type-options: nosniff\r\n');
    expect(s.received()).toContain('"responseCode":"431","responseMsg":"请求头过大"');
  });

  it('sends nosniff and X-Frame-Options with JSON, errors and the API docs', async () => {
    for (const path of [
      '/healthz',
      '/esign/api/auth/individual/face/x',
      '/docs/json',
      '/docs/static/index.html',
      '/nope',
    ]) {
      const res = await freshGet(port, path);
      expect([path, res.headers['x-content-type-options'], res.headers['x-frame-options']]).toEqual([
        path,
        'nosniff',
        'DENY',
      ]);
    }
  });
});

/** `cap` sockets are held open; one more is closed at once, unanswered; once freed, serving resumes. */
async function expectCappedAt(port: number, cap: number): Promise<void> {
  const held = await Promise.all(Array.from({ length: cap }, () => rawSocket(port)));
  const over = await rawSocket(port);
  expect(await over.closedAfter).toBeLessThan(1000);
  expect(over.received()).toBe('');
  for (const s of held) s.socket.destroy();
  await Promise.all(held.map((s) => s.closedAfter));
  await sleep(50);
  expect((await freshGet(port, '/healthz')).status).toBe(200);
}

describe('sockets per peer address', () => {
  let gw: TestGateway;
  let port: number;
  beforeAll(async () => {
    gw = await startGateway({ env: { HTTP_MAX_CONNECTIONS_PER_IP: '5' } });
    port = Number(new URL(gw.url).port);
  });
  afterAll(async () => gw?.close());

  it('closes a socket over HTTP_MAX_CONNECTIONS_PER_IP at once and serves again when sockets free up', async () => {
    await expectCappedAt(port, 5);
  });
});

describe('sockets in all', () => {
  let gw: TestGateway;
  let port: number;
  beforeAll(async () => {
    gw = await startGateway({ env: { HTTP_MAX_CONNECTIONS: '4', HTTP_MAX_CONNECTIONS_PER_IP: '0' } });
    port = Number(new URL(gw.url).port);
  });
  afterAll(async () => gw?.close());

  it('closes sockets beyond HTTP_MAX_CONNECTIONS at once', async () => {
    await expectCappedAt(port, 4);
  });
});
