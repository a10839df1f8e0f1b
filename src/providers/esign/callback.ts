/**
 * Verifies an e签宝 result callback on the raw bytes before anything is parsed: app id, timestamp
 * window, algorithm, then the hex HMAC. Repeats need no dedupe here: results are applied
 * idempotently, and reconciliation polls pending flows anyway.
 */
import { timingSafeEqual } from 'node:crypto';
import { callbackSignature, sortedQueryValues } from './signing.js';

export interface EsignCallbackEvent {
  flowId: string;
  accountId: string | null;
  success: boolean;
  contextId: string | null;
  action: string | null;
}

export interface VerifyEsignCallbackInput {
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
  /** The query parameters of our own notify URL, as given to e签宝 (they are part of the signature). */
  notifyUrlQuery: Record<string, string>;
  appId: string;
  appSecret: string;
  now: number;
  windowMs: number;
}

export type VerifyEsignCallbackResult =
  | { ok: true; event: EsignCallbackEvent }
  | { ok: false; reason: string };

const SIGNATURE_HEX = /^[0-9a-fA-F]{64}$/;
const TIMESTAMP_MS = /^\d{13}$/;

/** Case-insensitive lookup; a header sent twice is treated as absent, since it is ambiguous. */
function header(headers: VerifyEsignCallbackInput['headers'], name: string): string | undefined {
  const wanted = name.toLowerCase();
  let found: string | undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue;
    if (found !== undefined || Array.isArray(value)) return undefined;
    found = value;
  }
  return found;
}

function optionalString(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

export function verifyEsignCallback(input: VerifyEsignCallbackInput): VerifyEsignCallbackResult {
  const appId = header(input.headers, 'X-Tsign-Open-App-Id');
  if (appId === undefined) return { ok: false, reason: 'app_id_missing' };
  if (appId !== input.appId) return { ok: false, reason: 'app_id_mismatch' };

  const timestamp = header(input.headers, 'X-Tsign-Open-TIMESTAMP');
  if (timestamp === undefined || !TIMESTAMP_MS.test(timestamp))
    return { ok: false, reason: 'timestamp_invalid' };
  if (Math.abs(input.now - Number(timestamp)) > input.windowMs) {
    return { ok: false, reason: 'timestamp_outside_window' };
  }

  const algorithm = header(input.headers, 'X-Tsign-Open-SIGNATURE-ALGORITHM');
  if (algorithm?.toLowerCase() !== 'hmac-sha256') return { ok: false, reason: 'algorithm_unsupported' };

  const signature = header(input.headers, 'X-Tsign-Open-SIGNATURE');
  if (signature === undefined || !SIGNATURE_HEX.test(signature))
    return { ok: false, reason: 'signature_missing' };
  const expected = callbackSignature(
    input.appSecret,
    timestamp,
    sortedQueryValues(input.notifyUrlQuery),
    input.rawBody,
  );
  if (!timingSafeEqual(Buffer.from(signature, 'hex'), Buffer.from(expected, 'hex'))) {
    return { ok: false, reason: 'signature_mismatch' };
  }

  let body: unknown;
  try {
    body = JSON.parse(input.rawBody.toString('utf8'));
  } catch {
    return { ok: false, reason: 'body_not_json' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { ok: false, reason: 'body_not_object' };
  const fields = body as Record<string, unknown>;
  // flowId must be a string: e签宝 flow ids exceed 2^53, so a JSON number would already be corrupted.
  const flowId = optionalString(fields.flowId);
  if (flowId === null) return { ok: false, reason: 'flow_id_missing' };
  return {
    ok: true,
    event: {
      flowId,
      accountId: optionalString(fields.accountId),
      success: fields.success === true,
      contextId: optionalString(fields.contextId),
      action: optionalString(fields.action),
    },
  };
}
