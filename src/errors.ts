/**
 * The one closed list of error kinds the service can answer with. Each kind fixes the HTTP status,
 * the envelope `responseCode` and the default Chinese `responseMsg`; the HTTP layer maps an
 * `AppError` to a response in exactly one place (`http/envelope.ts`).
 */
export const ERROR_KINDS = {
  invalid: { status: 400, responseCode: '400', message: '请求参数错误' },
  unauthorized: { status: 401, responseCode: '401', message: '访问令牌无效或已过期' },
  forbidden: { status: 403, responseCode: '403', message: '系统类型不允许' },
  not_found: { status: 404, responseCode: '404', message: '资源不存在' },
  method_not_allowed: { status: 405, responseCode: '405', message: '请求方法不允许' },
  conflict: { status: 409, responseCode: '409', message: '请求冲突，请稍后重试' },
  too_large: { status: 413, responseCode: '413', message: '请求体过大' },
  unsupported_media: { status: 415, responseCode: '415', message: '请求体必须是 JSON' },
  rate_limited: { status: 429, responseCode: '429', message: '请求过于频繁，请稍后重试' },
  internal: { status: 500, responseCode: '500', message: '系统内部错误' },
  /** Our own storage cannot serve the request (database restarting, disk full): retry later. */
  unavailable: { status: 503, responseCode: '503', message: '服务暂不可用，请稍后重试' },
  upstream_refused: { status: 502, responseCode: '502', message: '认证服务拒绝了请求' },
  upstream_unavailable: { status: 503, responseCode: '503', message: '认证服务暂不可用，请稍后重试' },
  upstream_timeout: { status: 504, responseCode: '504', message: '认证服务响应超时，请稍后重试' },
} as const;

export type ErrorKind = keyof typeof ERROR_KINDS;

export interface FieldError {
  field: string;
  code: string;
  message: string;
}

export class AppError extends Error {
  readonly kind: ErrorKind;
  /** Chinese, shown to clients as `responseMsg`; never holds submitted personal data. */
  readonly userMessage: string;
  readonly data: unknown;
  /** Seconds, for `rate_limited`. */
  readonly retryAfter?: number;

  constructor(
    kind: ErrorKind,
    opts: {
      userMessage?: string;
      data?: unknown;
      retryAfter?: number;
      cause?: unknown;
      detail?: string;
    } = {},
  ) {
    // A client's mistake (4xx) is answered, never debugged: capturing its stack trace would be the
    // dearest part of a refused request. Server-side failures keep theirs.
    const stackTraceLimit = Error.stackTraceLimit;
    if (ERROR_KINDS[kind].status < 500) Error.stackTraceLimit = 0;
    try {
      super(opts.detail ?? opts.userMessage ?? kind, { cause: opts.cause });
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.name = 'AppError';
    this.kind = kind;
    this.userMessage = opts.userMessage ?? ERROR_KINDS[kind].message;
    this.data = opts.data ?? null;
    if (opts.retryAfter !== undefined) this.retryAfter = opts.retryAfter;
  }
}

export function invalid(errors: FieldError[]): AppError {
  return new AppError('invalid', { data: { errors } });
}
