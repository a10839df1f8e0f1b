/**
 * THE one way to call e签宝: signs, sends exact bytes, enforces timeouts, classifies failures into
 * our upstream_* kinds and never retries (every face start is billed, and e签宝 has no
 * idempotency key, so a blind retry could pay twice).
 */
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { Pool } from 'undici';
import type { EsignConfig } from '../../config.js';
import { AppError } from '../../errors.js';
import type { ProviderReachability } from '../provider.js';
import { contentMd5, SIGNED_ACCEPT, SIGNED_CONTENT_TYPE, signRequest, stringToSign } from './signing.js';

/** The envelope; `httpStatus` is kept so callers can tell a 5xx answer from a business refusal. */
export interface EsignResponse<T> {
  code: number;
  message: string;
  data: T | null;
  httpStatus: number;
}

export interface EsignClient {
  request<T>(method: 'GET' | 'POST', path: string, body?: object): Promise<EsignResponse<T>>;
  /** Whether e签宝 answered the last request at all (any HTTP answer counts as reachable). */
  lastSeen(): ProviderReachability | null;
  close(): Promise<void>;
}

/** e签宝 answers are small; anything larger is not an answer we understand. */
const MAX_ANSWER_BYTES = 1024 * 1024;

const CONNECTION_FAILURE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  // A connect timeout means the request never left this machine, so nothing was started or billed:
  // that is "unavailable", unlike a timeout after sending, whose outcome upstream is unknown.
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Our own overall-budget signal is the only thing that aborts a request, hence abort = timeout. */
const TIMEOUT_CODES = new Set([
  'TimeoutError',
  'AbortError',
  'UND_ERR_ABORTED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

function originOf(baseUrl: string): string {
  const url = new URL(baseUrl);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`esign baseUrl must be http(s), got ${url.protocol}`);
  }
  // The signed path is the path e签宝 sees, so a prefix here would silently break every signature.
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new Error('esign baseUrl must be an origin without path, query or fragment');
  }
  return url.origin;
}

function errorCode(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const { code, name } = err as { code?: unknown; name?: unknown };
    if (typeof code === 'string') return code;
    if (typeof name === 'string') return name;
  }
  return 'unknown';
}

function classifyTransportError(err: unknown, operation: string): AppError {
  const code = errorCode(err);
  if (TIMEOUT_CODES.has(code)) {
    return new AppError('upstream_timeout', {
      userMessage: '认证服务响应超时，请稍后重试',
      detail: `esign ${operation} timed out after sending (${code}); the upstream outcome is unknown`,
      cause: err,
    });
  }
  const known = CONNECTION_FAILURE_CODES.has(code);
  return new AppError('upstream_unavailable', {
    userMessage: '认证服务暂不可用，请稍后重试',
    detail: `esign ${operation} could not be reached (${known ? code : `unexpected ${code}`})`,
    cause: err,
  });
}

function pathOnly(path: string): string {
  const q = path.indexOf('?');
  return q < 0 ? path : path.slice(0, q);
}

function parseEnvelope<T>(text: string, httpStatus: number): EsignResponse<T> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const { code, message, data } = parsed as { code?: unknown; message?: unknown; data?: unknown };
  if (typeof code !== 'number' || !Number.isInteger(code)) return null;
  if (message !== undefined && message !== null && typeof message !== 'string') return null;
  return { code, message: message ?? '', data: (data ?? null) as T | null, httpStatus };
}

/** The body as text, refused past MAX_ANSWER_BYTES; events, not an async iterator (cheaper per call). */
function readLimited(body: Readable, oversized: () => Error): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_ANSWER_BYTES) {
        body.destroy();
        reject(oversized());
        return;
      }
      chunks.push(chunk);
    });
    body.once('end', () =>
      resolve(
        chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'),
      ),
    );
    body.once('error', reject);
  });
}

function shapelessAnswer(operation: string, httpStatus: number, what: string): AppError {
  if (httpStatus >= 500 || httpStatus === 429) {
    return new AppError('upstream_unavailable', {
      userMessage: '认证服务暂不可用，请稍后重试',
      detail: `esign ${operation} answered HTTP ${httpStatus} with ${what}`,
    });
  }
  return new AppError('upstream_refused', {
    userMessage: '认证服务返回了无法识别的应答',
    detail: `esign ${operation} answered HTTP ${httpStatus} with ${what}`,
  });
}

export function createEsignClient(cfg: EsignConfig, logger: Logger): EsignClient {
  const origin = originOf(cfg.baseUrl);
  const { connectTimeoutMs, requestTimeoutMs } = cfg;
  const log = logger.child({ component: 'esign-client' });
  const pool = new Pool(origin, {
    connections: cfg.maxConnections,
    connect: { timeout: connectTimeoutMs },
    headersTimeout: requestTimeoutMs,
    bodyTimeout: requestTimeoutMs,
  });

  let last: ProviderReachability | null = null;

  async function request<T>(method: 'GET' | 'POST', path: string, body?: object): Promise<EsignResponse<T>> {
    const operation = `${method} ${pathOnly(path)}`;
    const started = performance.now();
    const bytes = method === 'POST' ? Buffer.from(JSON.stringify(body ?? {}), 'utf8') : null;
    const md5 = bytes ? contentMd5(bytes) : '';
    const signature = signRequest(
      cfg.appSecret,
      stringToSign({
        method,
        accept: SIGNED_ACCEPT,
        contentMd5: md5,
        contentType: SIGNED_CONTENT_TYPE,
        pathWithQuery: path,
      }),
    );
    const headers: Record<string, string> = {
      'X-Tsign-Open-App-Id': cfg.appId,
      'X-Tsign-Open-Auth-Mode': 'Signature',
      'X-Tsign-Open-Ca-Timestamp': String(Date.now()),
      'X-Tsign-Open-Ca-Signature': signature,
      'Content-MD5': md5,
      'Content-Type': SIGNED_CONTENT_TYPE,
      Accept: SIGNED_ACCEPT,
    };
    const logFields = { method, path: pathOnly(path) };
    const elapsed = () => Math.round(performance.now() - started);

    let httpStatus: number;
    let text: string;
    try {
      const res = await pool.request({
        method,
        path,
        headers,
        body: bytes,
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
      httpStatus = res.statusCode;
      const status = httpStatus;
      text = await readLimited(res.body, () => shapelessAnswer(operation, status, 'an oversized body'));
    } catch (err) {
      // An AppError here is our verdict on a body that did arrive; anything else never reached us.
      last = { reachable: err instanceof AppError, at: Date.now() };
      const appError = err instanceof AppError ? err : classifyTransportError(err, operation);
      log.warn(
        { ...logFields, kind: appError.kind, error: errorCode(err), durationMs: elapsed() },
        'esign request failed',
      );
      throw appError;
    }

    last = { reachable: true, at: Date.now() };
    const answer = parseEnvelope<T>(text, httpStatus);
    const is2xx = httpStatus >= 200 && httpStatus < 300;
    if (!answer || (!is2xx && answer.code === 0)) {
      const appError = shapelessAnswer(operation, httpStatus, answer ? 'code 0' : 'no JSON envelope');
      log.warn(
        { ...logFields, httpStatus, kind: appError.kind, durationMs: elapsed() },
        'esign request failed',
      );
      throw appError;
    }
    if (log.isLevelEnabled('info')) {
      log.info({ ...logFields, httpStatus, code: answer.code, durationMs: elapsed() }, 'esign request');
    }
    return answer;
  }

  return {
    request,
    lastSeen: () => last,
    close: () => pool.close(),
  };
}
