/**
 * e签宝 "Signature" mode, as pure functions so the client, the callback route and the tests share
 * one definition (see shared/reference/esign-open-api.md, "Request signing" and "Callbacks").
 */
import { createHash, createHmac } from 'node:crypto';

/** The only `Accept` the client sends and signs; any other value breaks the signature. */
export const SIGNED_ACCEPT = '*/*';
/** The only `Content-Type` the client sends and signs, on GET as well as POST. */
export const SIGNED_CONTENT_TYPE = 'application/json; charset=UTF-8';

export interface StringToSignParts {
  method: string;
  accept: string;
  /** Empty for requests without a body. */
  contentMd5: string;
  contentType: string;
  /** The request target exactly as sent: path plus optional `?query`. */
  pathWithQuery: string;
}

/** Base64 of the 16-byte MD5 digest of the exact body bytes. */
export function contentMd5(bodyBytes: Buffer): string {
  return createHash('md5').update(bodyBytes).digest('base64');
}

/**
 * Sorts the query by key (UTF-16 code unit order, as Java's TreeMap does) and joins it `k=v&…`.
 * Values are used as they appear in the request target: neither decoded nor re-encoded, so
 * whatever the client sends is what it signs. A parameter with an empty value is signed as its
 * bare key, following the Alibaba Cloud API-gateway scheme this signature mode mirrors.
 */
export function pathWithSortedQuery(pathWithQuery: string): string {
  const q = pathWithQuery.indexOf('?');
  if (q < 0) return pathWithQuery;
  const path = pathWithQuery.slice(0, q);
  const pairs = pathWithQuery
    .slice(q + 1)
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      return eq < 0 ? { key: part, value: '' } : { key: part.slice(0, eq), value: part.slice(eq + 1) };
    })
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (pairs.length === 0) return path;
  return `${path}?${pairs.map(({ key, value }) => (value === '' ? key : `${key}=${value}`)).join('&')}`;
}

/** `METHOD\nAccept\nContent-MD5\nContent-Type\nDate(always empty)\nPathWithSortedQuery`. */
export function stringToSign(parts: StringToSignParts): string {
  return [
    parts.method,
    parts.accept,
    parts.contentMd5,
    parts.contentType,
    '',
    pathWithSortedQuery(parts.pathWithQuery),
  ].join('\n');
}

/** Base64(HMAC-SHA256(app secret, string to sign)) for `X-Tsign-Open-Ca-Signature`. */
export function signRequest(secret: string, toSign: string): string {
  return createHmac('sha256', secret).update(toSign, 'utf8').digest('base64');
}

/** The notify URL's own query values, sorted by key and concatenated without separators. */
export function sortedQueryValues(query: Record<string, string>): string {
  return Object.keys(query)
    .sort()
    .map((key) => query[key] ?? '')
    .join('');
}

/**
 * Lower-case hex HMAC-SHA256 over timestamp + sorted query values + raw body, as e签宝 signs its
 * callbacks (hex here, Base64 for requests). The body is hashed as received bytes, never re-encoded.
 */
export function callbackSignature(
  secret: string,
  timestamp: string,
  sortedQueryValuesConcat: string,
  rawBody: Buffer,
): string {
  return createHmac('sha256', secret)
    .update(timestamp, 'utf8')
    .update(sortedQueryValuesConcat, 'utf8')
    .update(rawBody)
    .digest('hex');
}
