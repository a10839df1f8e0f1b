import { describe, expect, it } from 'vitest';
import { verifyEsignCallback } from '../../../src/providers/esign/callback.js';
import { callbackSignature } from '../../../src/providers/esign/signing.js';

const APP_ID = '7438000001';
const SECRET = 'callback-test-secret';
const NOW = 1_767_225_600_000;
const WINDOW_MS = 5 * 60 * 1000;
const BODY = Buffer.from(
  '{"action":"identity_psn_end","flowId":"3123456789012345678","accountId":"0123456789abcdef0123456789abcdef","success":true,"contextId":"flow-1","verifycode":"abc"}',
  'utf8',
);
const QUERY = { tenant: 'b', client: 'a' };

function signedHeaders(overrides: Record<string, string> = {}, body = BODY, timestamp = String(NOW - 1000)) {
  return {
    'x-tsign-open-app-id': APP_ID,
    'x-tsign-open-timestamp': timestamp,
    'x-tsign-open-signature-algorithm': 'hmac-sha256',
    'x-tsign-open-signature': callbackSignature(SECRET, timestamp, 'ab', body),
    ...overrides,
  };
}

function verify(headers: Record<string, string | string[] | undefined>, rawBody = BODY, query = QUERY) {
  return verifyEsignCallback({
    headers,
    rawBody,
    notifyUrlQuery: query,
    appId: APP_ID,
    appSecret: SECRET,
    now: NOW,
    windowMs: WINDOW_MS,
  });
}

describe('verifyEsignCallback', () => {
  it('accepts a correctly signed callback and returns the event', () => {
    expect(verify(signedHeaders())).toEqual({
      ok: true,
      event: {
        flowId: '3123456789012345678',
        accountId: '0123456789abcdef0123456789abcdef',
        success: true,
        contextId: 'flow-1',
        action: 'identity_psn_end',
      },
    });
  });

  it('looks headers up case-insensitively and accepts the algorithm in any case', () => {
    const timestamp = String(NOW);
    const headers = {
      'X-Tsign-Open-App-Id': APP_ID,
      'X-Tsign-Open-TIMESTAMP': timestamp,
      'X-Tsign-Open-SIGNATURE-ALGORITHM': 'HMAC-SHA256',
      'X-Tsign-Open-SIGNATURE': callbackSignature(SECRET, timestamp, 'ab', BODY),
    };
    expect(verify(headers).ok).toBe(true);
  });

  it('signs the query values sorted by key, not in the given order', () => {
    const timestamp = String(NOW);
    const inGivenOrder = callbackSignature(SECRET, timestamp, 'ba', BODY);
    expect(verify(signedHeaders({ 'x-tsign-open-signature': inGivenOrder }, BODY, timestamp))).toEqual({
      ok: false,
      reason: 'signature_mismatch',
    });
    expect(verify(signedHeaders({}, BODY, timestamp)).ok).toBe(true);
  });

  it('rejects a tampered body', () => {
    const tampered = Buffer.from(BODY.toString('utf8').replace('"success":true', '"success":false'), 'utf8');
    expect(verify(signedHeaders(), tampered)).toEqual({ ok: false, reason: 'signature_mismatch' });
  });

  it('rejects a wrong or missing app id', () => {
    expect(verify(signedHeaders({ 'x-tsign-open-app-id': '7438000002' }))).toEqual({
      ok: false,
      reason: 'app_id_mismatch',
    });
    const { 'x-tsign-open-app-id': _dropped, ...withoutAppId } = signedHeaders();
    expect(verify(withoutAppId)).toEqual({ ok: false, reason: 'app_id_missing' });
  });

  it('rejects a timestamp outside the window, in seconds, or missing', () => {
    const old = String(NOW - WINDOW_MS - 1);
    expect(verify(signedHeaders({}, BODY, old))).toEqual({ ok: false, reason: 'timestamp_outside_window' });
    const future = String(NOW + WINDOW_MS + 1);
    expect(verify(signedHeaders({}, BODY, future))).toEqual({
      ok: false,
      reason: 'timestamp_outside_window',
    });
    const seconds = String(Math.floor(NOW / 1000));
    expect(verify(signedHeaders({}, BODY, seconds))).toEqual({ ok: false, reason: 'timestamp_invalid' });
    expect(verify(signedHeaders({ 'x-tsign-open-timestamp': '' }))).toEqual({
      ok: false,
      reason: 'timestamp_invalid',
    });
  });

  it('accepts a timestamp exactly at the edge of the window', () => {
    expect(verify(signedHeaders({}, BODY, String(NOW - WINDOW_MS))).ok).toBe(true);
  });

  it('rejects another or a missing algorithm', () => {
    expect(verify(signedHeaders({ 'x-tsign-open-signature-algorithm': 'hmac-sha1' }))).toEqual({
      ok: false,
      reason: 'algorithm_unsupported',
    });
    const { 'x-tsign-open-signature-algorithm': _dropped, ...withoutAlgorithm } = signedHeaders();
    expect(verify(withoutAlgorithm)).toEqual({ ok: false, reason: 'algorithm_unsupported' });
  });

  it('rejects a Base64 signature, a missing one and a repeated header', () => {
    const hex = signedHeaders()['x-tsign-open-signature'];
    const base64 = Buffer.from(hex, 'hex').toString('base64');
    expect(verify(signedHeaders({ 'x-tsign-open-signature': base64 }))).toEqual({
      ok: false,
      reason: 'signature_missing',
    });
    expect(verify({ ...signedHeaders(), 'x-tsign-open-signature': undefined })).toEqual({
      ok: false,
      reason: 'signature_missing',
    });
    expect(verify({ ...signedHeaders(), 'x-tsign-open-signature': [hex, hex] })).toEqual({
      ok: false,
      reason: 'signature_missing',
    });
  });

  it('rejects a signed body that is not JSON, not an object or has no flowId', () => {
    for (const [raw, reason] of [
      ['not json', 'body_not_json'],
      ['[1,2]', 'body_not_object'],
      ['{"success":true}', 'flow_id_missing'],
      ['{"flowId":3123456789012345678}', 'flow_id_missing'],
    ] as const) {
      const body = Buffer.from(raw, 'utf8');
      expect(verify(signedHeaders({}, body), body)).toEqual({ ok: false, reason });
    }
  });

  it('reads missing optional fields as null and anything but true as not successful', () => {
    const body = Buffer.from('{"flowId":"3123","success":"true"}', 'utf8');
    expect(verify(signedHeaders({}, body), body)).toEqual({
      ok: true,
      event: { flowId: '3123', accountId: null, success: false, contextId: null, action: null },
    });
  });
});
