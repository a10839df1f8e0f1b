import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Which of the given secrets verify this request's signatures (standardwebhooks on the raw body). */
  verifiedWith(...secrets: string[]): boolean[];
  json(): Record<string, unknown>;
}

/** What the receiver does with the n-th request (0-based): answer a status, or hold it open. */
export type Responder = (
  n: number,
  req: ReceivedWebhook,
) => number | 'hang' | { status: number; location: string };

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  respond: Responder;
  /** Resolves once `count` requests have arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

/** A client's notify endpoint on loopback that records every request and answers as scripted. */
export async function startWebhookReceiver(respond: Responder = () => 200): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const waiters: Array<() => boolean> = [];
  const receiver: WebhookReceiver = {
    url: '',
    received,
    respond,
    waitFor(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (received.length < count) return false;
          clearTimeout(timer);
          resolve(received.slice());
          return true;
        };
        const timer = setTimeout(
          () => reject(new Error(`expected ${count} webhook requests, got ${received.length}`)),
          timeoutMs,
        );
        if (!check()) waiters.push(check);
      });
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const hook: ReceivedWebhook = {
        path: req.url ?? '',
        headers,
        body,
        verifiedWith: (...secrets) =>
          secrets.map((secret) => {
            try {
              new Webhook(secret).verify(body, headers);
              return true;
            } catch {
              return false;
            }
          }),
        json: () => JSON.parse(body) as Record<string, unknown>,
      };
      const answer = receiver.respond(received.length, hook);
      received.push(hook);
      for (const w of waiters.splice(0)) if (!w()) waiters.push(w);
      if (answer === 'hang') return;
      if (typeof answer === 'number') {
        res.writeHead(answer, { 'content-type': 'text/plain' });
        res.end('ok');
      } else {
        res.writeHead(answer.status, { location: answer.location });
        res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/etc`;
  return receiver;
}
