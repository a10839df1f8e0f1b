import { describe, expect, it } from 'vitest';
import {
  callbackSignature,
  contentMd5,
  pathWithSortedQuery,
  SIGNED_ACCEPT,
  SIGNED_CONTENT_TYPE,
  signRequest,
  sortedQueryValues,
  stringToSign,
} from '../../../src/providers/esign/signing.js';

const SECRET = 'test-app-secret';
// The reference's vector (shared/reference/esign-open-api.md, "Request signing").
const VECTOR_BODY =
  '{"name":"张三","idNo":"320926195511175276","faceauthMode":"ZHIMACREDIT","callbackUrl":"https://example.com/cb","contextId":"ctx-1","notifyUrl":"https://example.com/notify"}';

describe('request signing', () => {
  it('matches the reference test vector', () => {
    const md5 = contentMd5(Buffer.from(VECTOR_BODY, 'utf8'));
    expect(md5).toBe('cufFKm2VbcrTuAunzn8ytg==');
    const toSign = stringToSign({
      method: 'POST',
      accept: SIGNED_ACCEPT,
      contentMd5: md5,
      contentType: SIGNED_CONTENT_TYPE,
      pathWithQuery: '/v2/identity/auth/api/individual/face',
    });
    expect(toSign).toBe(
      'POST\n*/*\ncufFKm2VbcrTuAunzn8ytg==\napplication/json; charset=UTF-8\n\n/v2/identity/auth/api/individual/face',
    );
    expect(signRequest(SECRET, toSign)).toBe('+lBPuIYl56wlXxHLejNu8gXkrbzKSiPXi2oZgavoNAg=');
  });

  it('keeps the empty Content-MD5 and Date lines for a GET with a query', () => {
    const toSign = stringToSign({
      method: 'GET',
      accept: SIGNED_ACCEPT,
      contentMd5: '',
      contentType: SIGNED_CONTENT_TYPE,
      pathWithQuery: '/v1/accounts/getByThirdId?thirdPartyUserId=pk-1',
    });
    expect(toSign).toBe(
      'GET\n*/*\n\napplication/json; charset=UTF-8\n\n/v1/accounts/getByThirdId?thirdPartyUserId=pk-1',
    );
    expect(signRequest(SECRET, toSign)).toBe('/XwUq/nd/JoD2C2S3fuG4jRj/mDNPrGxP28Dxzpkq74=');
  });

  it('sorts the query by key and leaves values as sent', () => {
    expect(pathWithSortedQuery('/p?z=3&a=1&m=%E5%BC%A0&b=x=y')).toBe('/p?a=1&b=x=y&m=%E5%BC%A0&z=3');
  });

  it('signs a parameter with an empty value as its bare key', () => {
    expect(pathWithSortedQuery('/p?b=&a=1')).toBe('/p?a=1&b');
  });

  it('leaves a path without query, or with an empty one, unchanged', () => {
    expect(pathWithSortedQuery('/v2/identity/auth/api/common/3123/detail')).toBe(
      '/v2/identity/auth/api/common/3123/detail',
    );
    expect(pathWithSortedQuery('/p?')).toBe('/p');
  });

  it('hashes the body bytes, not a re-encoded string', () => {
    expect(contentMd5(Buffer.alloc(0))).toBe('1B2M2Y8AsgTpgAmY7PhCfg==');
    expect(contentMd5(Buffer.from('张三', 'utf8'))).not.toBe(contentMd5(Buffer.from('张三', 'utf16le')));
  });
});

describe('callback signing', () => {
  const body = Buffer.from(
    '{"flowId":"3123456789012345678","accountId":"0123456789abcdef0123456789abcdef","success":true,"contextId":"flow-1"}',
    'utf8',
  );

  it('is lower-case hex over timestamp + sorted query values + raw body', () => {
    expect(callbackSignature(SECRET, '1767225600000', 'ab', body)).toBe(
      '92ac726c01a3724807a5ea696ea57f6c0c5562b30b62ab9cdc2fb272e4b00905',
    );
    expect(callbackSignature(SECRET, '1767225600000', '', body)).toBe(
      '409cdb12d829c2078350c1bf1f5d67098e1fdfbd593ffae3409df408e0b625d9',
    );
  });

  it('concatenates query values in key order', () => {
    expect(sortedQueryValues({ z: 'b', a: 'a' })).toBe('ab');
    expect(sortedQueryValues({})).toBe('');
  });
});
