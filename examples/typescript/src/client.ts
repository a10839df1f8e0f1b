/**
 * A small client of the etc-esign API on `fetch`. Every answer is the envelope
 * `{ requestId, responseCode, responseMsg, data }`; errors become one class per way a caller
 * should react, so a business system can `catch` by class instead of parsing codes.
 */

export interface Person {
  name: string;
  idNumber: string;
  mobile: string;
  /** `YYYY.MM.DD-YYYY.MM.DD` or `YYYY.MM.DD-长期`. */
  validPeriod: string;
}

export interface FaceStartData {
  authUrl: string;
  originalUrl: string;
  expire: string;
  esignAccountId?: string;
  message: 'success' | 'verified';
  flowId?: string;
}

export interface FlowData {
  flowId: string;
  status: 'PENDING' | 'SUCCESS' | 'FAILED' | 'EXPIRED' | 'SUPERSEDED';
  esignAccountId?: string;
  failReason?: string;
  createdAt: string;
  expire: string;
  openedAt?: string;
  completedAt?: string;
}

export interface FieldError {
  field: string;
  code: string;
  message: string;
}

interface Envelope<T> {
  requestId: string;
  responseCode: string;
  responseMsg: string;
  data: T;
}

/** Any answer other than success; `requestId` is what to quote to the gateway's operators. */
export class EtcEsignError extends Error {
  constructor(
    readonly status: number,
    readonly responseCode: string,
    readonly responseMsg: string,
    readonly requestId: string,
  ) {
    super(`${status} ${responseMsg} (requestId ${requestId})`);
    this.name = new.target.name;
  }
}
/** 400: fix the request; `errors` names every bad field at once. */
export class InvalidRequestError extends EtcEsignError {
  errors: FieldError[] = [];
}
/** 401 (token) or 403 (`etc-sys-id`): fix the configuration, retrying does not help. */
export class AuthenticationError extends EtcEsignError {}
/** 404: no such flow for this client. */
export class NotFoundError extends EtcEsignError {}
/** 409: the same request is still running (same Idempotency-Key); retry shortly with the same key. */
export class ConflictError extends EtcEsignError {}
/** 429: wait `retryAfterSeconds`, then retry. */
export class RateLimitedError extends EtcEsignError {
  retryAfterSeconds = 1;
}
/** 502/503/504: e签宝 refused, was unavailable or timed out; 503/504 may be retried with the same key. */
export class UpstreamError extends EtcEsignError {
  get retryable(): boolean {
    return this.status !== 502;
  }
}
/** 413, 415, 500 and anything unexpected. */
export class ServerError extends EtcEsignError {}

export interface ClientOptions {
  baseUrl: string;
  token: string;
  sysId?: string;
  timeoutMs?: number;
}

export class EtcEsignClient {
  private readonly baseUrl: string;

  constructor(private readonly opts: ClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
  }

  /**
   * Starts (or reuses) a face authentication. Pass an idempotency key (e.g. your order id) so a
   * retry after a timeout cannot start a second billed flow.
   */
  startFace(person: Person, idempotencyKey?: string): Promise<FaceStartData> {
    return this.call('POST', '/esign/api/auth/individual/face', person, {
      ...(idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {}),
    });
  }

  getFlow(flowId: string): Promise<FlowData> {
    return this.call('GET', `/esign/api/auth/individual/face/${encodeURIComponent(flowId)}`);
  }

  /** Sets where results are POSTed; the webhook secret comes back only the first time. */
  setNotifyUrl(url: string): Promise<{ url: string; enabled: boolean; webhookSecret?: string }> {
    return this.call('PUT', '/esign/api/notify-endpoint', { url });
  }

  private async call<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const res = await fetch(this.baseUrl + path, {
      method,
      headers: {
        'etc-token': this.opts.token,
        'etc-sys-id': this.opts.sysId ?? 'E02',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 15_000),
    });
    const envelope = (await res.json()) as Envelope<T>;
    if (res.ok) return envelope.data;
    throw toError(res, envelope);
  }
}

function toError(res: Response, e: Envelope<unknown>): EtcEsignError {
  const args = [res.status, e.responseCode, e.responseMsg, e.requestId] as const;
  switch (res.status) {
    case 400: {
      const err = new InvalidRequestError(...args);
      const data = e.data as { errors?: FieldError[] } | null;
      err.errors = data?.errors ?? [];
      return err;
    }
    case 401:
    case 403:
      return new AuthenticationError(...args);
    case 404:
      return new NotFoundError(...args);
    case 409:
      return new ConflictError(...args);
    case 429: {
      const err = new RateLimitedError(...args);
      err.retryAfterSeconds = Number(res.headers.get('retry-after') ?? '1') || 1;
      return err;
    }
    case 502:
    case 503:
    case 504:
      return new UpstreamError(...args);
    default:
      return new ServerError(...args);
  }
}
