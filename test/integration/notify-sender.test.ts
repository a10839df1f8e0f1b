import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookSender, type WebhookSender } from '../../src/notify/sender.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('the webhook sender refuses non-public addresses when connecting', () => {
  let sender: WebhookSender;
  let server: net.Server;
  let port = 0;
  let connections = 0;

  beforeAll(async () => {
    sender = createWebhookSender({ allowPrivateNetworks: false, timeoutMs: 2000 });
    server = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await sender?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const send = (url: string) => sender.send({ url, id: 'msg_test', body: '{}', secrets: [SECRET] });

  it.each([
    ['an IP literal', () => `https://127.0.0.1:${port}/hook`],
    ['a short-form IP literal', () => `https://127.1:${port}/hook`],
    ['an IPv6 literal', () => `https://[::1]:${port}/hook`],
    ['an IPv4-mapped IPv6 literal', () => `https://[::ffff:127.0.0.1]:${port}/hook`],
    // Resolved at connection time: whatever the name pointed to when it was configured.
    ['a name that resolves to loopback', () => `https://localhost:${port}/hook`],
  ])('%s', async (_what, url) => {
    const result = await send(url());
    expect(result).toMatchObject({ kind: 'failed', reason: 'blocked' });
    expect(connections).toBe(0);
  });

  it('refuses plain http', async () => {
    expect(await send(`http://127.0.0.1:${port}/hook`)).toEqual({
      kind: 'failed',
      reason: 'blocked',
      detail: 'notify URL scheme http: is not allowed',
    });
    expect(connections).toBe(0);
  });
});

describe('the webhook sender with private networks allowed', () => {
  let sender: WebhookSender;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    sender = createWebhookSender({ allowPrivateNetworks: true, timeoutMs: 300 });
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    await sender?.close();
    await receiver?.close();
  });

  it('reports the status, a timeout and a refused connection', async () => {
    receiver.respond = (n) => (n === 0 ? 202 : 'hang');
    const msg = { url: receiver.url, id: 'msg_1', body: '{"a":1}', secrets: [SECRET] };
    expect(await sender.send(msg)).toEqual({ kind: 'answered', status: 202 });
    expect(await sender.send(msg)).toMatchObject({ kind: 'failed', reason: 'timeout' });
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    expect(await sender.send({ ...msg, url: `http://127.0.0.1:${closed}/hook` })).toEqual({
      kind: 'failed',
      reason: 'network',
      detail: 'connection failed (ECONNREFUSED)',
    });
    expect(receiver.received[0]?.verifiedWith(SECRET)).toEqual([true]);
  });

  it('reports an aborted attempt as aborted, not as a failure of the receiver', async () => {
    receiver.respond = () => 'hang';
    const ac = new AbortController();
    const pending = sender.send({
      url: receiver.url,
      id: 'msg_2',
      body: '{}',
      secrets: [SECRET],
      signal: ac.signal,
    });
    setTimeout(() => ac.abort(), 50);
    expect(await pending).toMatchObject({ kind: 'failed', reason: 'aborted' });
  });
});
