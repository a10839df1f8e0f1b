/**
 * A business system's first day with etc-esign, end to end:
 *   ETC_GATEWAY_URL=http://localhost:8080 ETC_TOKEN=… node dist/demo.js
 * It registers a local webhook receiver as its notify URL, shows how each error class looks,
 * starts a face flow (with an Idempotency-Key), queries it, then waits for the signed result
 * notification, verifies it and shows that a tampered copy is rejected.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AuthenticationError,
  EtcEsignClient,
  EtcEsignError,
  InvalidRequestError,
  NotFoundError,
  type Person,
} from './client.js';
import { type ResultEvent, verifyEvent } from './webhook.js';

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] || fallback;
  if (value === undefined) throw new Error(`set ${name}`);
  return value;
};

const baseUrl = env('ETC_GATEWAY_URL', 'http://localhost:8080');
const token = env('ETC_TOKEN');
const person: Person = {
  name: env('ETC_DEMO_NAME', '张三'),
  idNumber: env('ETC_DEMO_ID_NUMBER', '11010519491231002X'),
  mobile: env('ETC_DEMO_MOBILE', '13800138000'),
  validPeriod: env('ETC_DEMO_VALID_PERIOD', '2019.01.01-长期'),
};
const waitSeconds = Number(env('ETC_DEMO_WAIT_SECONDS', '300'));
const say = (line: string) => process.stdout.write(`${line}\n`);

/** Resolves with the first verified notification about `flowId`, answering every request as it should. */
function receiveWebhooks(
  secret: () => string,
  onEvent: (e: ResultEvent, raw: string, h: http.IncomingHttpHeaders) => void,
) {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const event = verifyEvent(secret(), raw, req.headers);
      // 2xx only for a verified event: anything else is retried by the gateway or was never from it.
      res.writeHead(event ? 204 : 400).end();
      if (event) onEvent(event, raw, req.headers);
    });
  });
}

async function showErrorClasses(client: EtcEsignClient): Promise<void> {
  say('error classes:');
  const attempts: Array<[string, () => Promise<unknown>]> = [
    ['bad ID number', () => client.startFace({ ...person, idNumber: '110105194912310021' })],
    ['unknown token', () => new EtcEsignClient({ baseUrl, token: 'x'.repeat(32) }).getFlow('f')],
    ['wrong sys id', () => new EtcEsignClient({ baseUrl, token, sysId: 'E01' }).getFlow('f')],
    ['unknown flow', () => client.getFlow('no-such-flow')],
  ];
  for (const [what, attempt] of attempts) {
    try {
      await attempt();
      say(`  ${what}: unexpectedly accepted`);
    } catch (err) {
      if (err instanceof InvalidRequestError) {
        say(
          `  ${what}: ${err.name} ${err.status} ${err.errors.map((e) => `${e.field}:${e.code}`).join(',')}`,
        );
      } else if (err instanceof AuthenticationError || err instanceof NotFoundError) {
        say(`  ${what}: ${err.name} ${err.status}`);
      } else throw err;
    }
  }
}

async function main(): Promise<void> {
  const client = new EtcEsignClient({ baseUrl, token });
  let secret = process.env.ETC_WEBHOOK_SECRET ?? '';
  let resolveEvent: (v: { event: ResultEvent; raw: string; headers: http.IncomingHttpHeaders }) => void =
    () => {};
  const eventArrived = new Promise<{ event: ResultEvent; raw: string; headers: http.IncomingHttpHeaders }>(
    (resolve) => {
      resolveEvent = resolve;
    },
  );
  let flowId = '';
  const server = receiveWebhooks(
    () => secret,
    (event, raw, headers) => {
      if (event.flowId === flowId) resolveEvent({ event, raw, headers });
    },
  );
  await new Promise<void>((resolve) =>
    server.listen(Number(env('ETC_DEMO_WEBHOOK_PORT', '0')), '127.0.0.1', resolve),
  );
  try {
    const { port } = server.address() as AddressInfo;
    const endpoint = await client.setNotifyUrl(`http://127.0.0.1:${port}/etc-esign/webhooks`);
    secret = endpoint.webhookSecret ?? secret;
    if (!secret) throw new Error('the notify URL already had a secret: set ETC_WEBHOOK_SECRET');
    say('notify URL set');

    await showErrorClasses(client);

    const key = `order-${randomUUID()}`;
    const started = await client.startFace(person, key);
    if (started.message === 'verified') {
      say(`already verified: esignAccountId=${started.esignAccountId}`);
      return;
    }
    flowId = started.flowId ?? '';
    say(`started ${flowId}`);
    say(`  open on a phone: ${started.authUrl}`);
    const retried = await client.startFace(person, key);
    say(`retry with the same Idempotency-Key: ${retried.flowId === flowId ? 'same flow' : 'NEW FLOW'}`);
    say(`query ${(await client.getFlow(flowId)).status}`);

    say('waiting for the result notification');
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('no notification in time')), waitSeconds * 1000).unref(),
    );
    const { event, raw, headers } = await Promise.race([eventArrived, timeout]);
    say(`notification ${event.type} ${event.flowId}: signature verified`);
    const tampered = raw.replace(/"status":"[A-Z]+"/, '"status":"SUCCESS","esignAccountId":"forged"');
    say(`tampered copy: ${verifyEvent(secret, tampered, headers) === null ? 'rejected' : 'ACCEPTED'}`);
    const done = await client.getFlow(flowId);
    say(`query ${done.status}${done.esignAccountId ? ` esignAccountId=${done.esignAccountId}` : ''}`);
  } finally {
    server.close();
    server.closeAllConnections();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof EtcEsignError ? err.message : String(err)}\n`);
  // Which field, and why: e.g. a notify URL on 127.0.0.1 needs NOTIFY_ALLOW_PRIVATE_NETWORKS=true.
  if (err instanceof InvalidRequestError) {
    for (const e of err.errors) process.stderr.write(`  ${e.field}: ${e.code} ${e.message}\n`);
  }
  process.exit(1);
});
