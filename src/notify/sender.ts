import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector, request } from 'undici';
import { BlockedAddressError, isForbiddenAddress } from './address-policy.js';
import { signWebhook } from './signing.js';

export interface WebhookMessage {
  url: string;
  /** `webhook-id`: the same on every attempt, so the receiver can deduplicate. */
  id: string;
  body: string;
  /** Every secret that signs; more than one while a rotated-out secret is in its grace period. */
  secrets: string[];
  /** Aborts the attempt (the process is stopping); the result is then `aborted`. */
  signal?: AbortSignal;
}

export type SendResult =
  | { kind: 'answered'; status: number }
  | { kind: 'failed'; reason: 'timeout' | 'blocked' | 'network' | 'aborted'; detail: string };

export interface WebhookSender {
  send(message: WebhookMessage): Promise<SendResult>;
  close(): Promise<void>;
}

export interface SenderOptions {
  allowPrivateNetworks: boolean;
  timeoutMs: number;
  /** Defaults to the wall clock; the `webhook-timestamp` must be real time for receivers to accept it. */
  now?: () => number;
}

/** Responses are read only to free the connection; nothing in them matters beyond the status. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** Resolves like dns.lookup, but fails when any answer is a forbidden address (DNS rebinding). */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) {
      callback(err, '', 0);
      return;
    }
    const blocked = addresses.find((a) => isForbiddenAddress(a.address));
    if (blocked) {
      callback(new BlockedAddressError(blocked.address), '', 0);
      return;
    }
    if (options.all) {
      callback(null, addresses);
      return;
    }
    const first = addresses[0];
    if (!first)
      callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
    else callback(null, first.address, first.family);
  });
};

/**
 * Connects only to public addresses: names go through `guardedLookup` at connection time, and IP
 * literals (which never reach a lookup function) are checked here.
 */
function guardedConnector(timeoutMs: number): buildConnector.connector {
  const connect = buildConnector({ timeout: timeoutMs, lookup: guardedLookup });
  return (options, callback) => {
    const host = options.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && isForbiddenAddress(host)) {
      callback(new BlockedAddressError(host), null);
      return;
    }
    connect(options, callback);
  };
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function classify(err: unknown, signal: AbortSignal | undefined): Extract<SendResult, { kind: 'failed' }> {
  const e = err as { name?: string; code?: string; message?: string; cause?: unknown };
  if (signal?.aborted) return { kind: 'failed', reason: 'aborted', detail: 'stopped' };
  if (e?.code === 'ERR_NOTIFY_ADDRESS_BLOCKED' || e?.name === 'BlockedAddressError') {
    return { kind: 'failed', reason: 'blocked', detail: e.message ?? 'blocked address' };
  }
  if (e?.name === 'TimeoutError' || (e?.code && TIMEOUT_CODES.has(e.code))) {
    return { kind: 'failed', reason: 'timeout', detail: 'timed out' };
  }
  // undici wraps socket errors; the cause carries the errno code (ECONNREFUSED, ENOTFOUND, …).
  const cause = e?.cause as { code?: string } | undefined;
  const code = cause?.code ?? e?.code ?? e?.name ?? 'error';
  return { kind: 'failed', reason: 'network', detail: `connection failed (${code})` };
}

/**
 * POSTs signed notifications with undici: one keep-alive pool, an overall timeout per attempt,
 * redirects never followed (a 3xx is just a failed attempt), and — unless private networks are
 * allowed — connections only to public addresses.
 */
export function createWebhookSender(opts: SenderOptions): WebhookSender {
  const now = opts.now ?? Date.now;
  const agent = new Agent({
    connect: opts.allowPrivateNetworks ? { timeout: opts.timeoutMs } : guardedConnector(opts.timeoutMs),
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    keepAliveTimeout: 10_000,
  });
  return {
    async send(message) {
      const protocol = new URL(message.url).protocol;
      if (protocol !== 'https:' && !(opts.allowPrivateNetworks && protocol === 'http:')) {
        return { kind: 'failed', reason: 'blocked', detail: `notify URL scheme ${protocol} is not allowed` };
      }
      const timestamp = Math.floor(now() / 1000);
      const timeout = AbortSignal.timeout(opts.timeoutMs);
      const signal = message.signal ? AbortSignal.any([timeout, message.signal]) : timeout;
      try {
        const res = await request(message.url, {
          method: 'POST',
          dispatcher: agent,
          signal,
          headers: {
            'content-type': 'application/json',
            'user-agent': 'etc-esign-webhooks/1',
            'webhook-id': message.id,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': signWebhook(message.secrets, message.id, timestamp, message.body),
          },
          body: message.body,
        });
        // The status is the answer; a body that is slow or large must not turn it into a failure.
        await res.body.dump({ limit: MAX_RESPONSE_BYTES }).catch(() => {});
        return { kind: 'answered', status: res.statusCode };
      } catch (err) {
        return classify(err, message.signal);
      }
    },
    close: () => agent.close(),
  };
}
