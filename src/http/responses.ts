/**
 * What the OpenAPI document says each endpoint answers: one entry per HTTP status, each with the
 * envelope's exact `responseCode`, its headers, and an example that is a real answer of this
 * gateway (test/integration/openapi.test.ts produces every status and compares).
 */
import { type TSchema, Type } from 'typebox';
import { ERROR_KINDS } from '../errors.js';
import { FieldErrorSchema } from './envelope.js';

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500 | 502 | 503 | 504;

const REQUEST_ID = '1d70cd2d-89f5-4f46-93e2-42318d3cefaa';
const FLOW_ID = '0372b12d-350e-4cd3-9749-316e3f31476d';
const ACCOUNT_ID = '240243d7c298638c30f7e47a678f8b00';

const answer = (responseCode: string, responseMsg: string, data: unknown = null) => ({
  requestId: REQUEST_ID,
  responseCode,
  responseMsg,
  data,
});
const fieldErrors = (...errors: { field: string; code: string; message: string }[]) =>
  answer('400', ERROR_KINDS.invalid.message, { errors });

const flowItem = {
  flowId: FLOW_ID,
  status: 'PENDING',
  createdAt: '2026-11-29T18:00:00+08:00',
  expire: '2026-11-30T17:00:00+08:00',
  person: { name: '*三', idNumber: '1101**********002X', mobile: '138****8000' },
};

/** Example bodies by operation and status. */
export const EXAMPLES = {
  face200: answer('000', '成功', {
    authUrl: 'https://esign.issuer.example/s/Fv9F2lsuzcGX',
    originalUrl: 'https://smlh5.esign.cn/identity/face/D5BEhBpk1ktcMHGr3CBVR5A6',
    expire: '2026-11-30T17:00:00+08:00',
    message: 'success',
    esignAccountId: ACCOUNT_ID,
    flowId: FLOW_ID,
  }),
  face400: fieldErrors(
    { field: 'idNumber', code: 'ID_CHECKSUM', message: '身份证号校验位错误' },
    { field: 'mobile', code: 'MOBILE_FORMAT', message: '手机号格式错误，应为11位中国大陆手机号' },
  ),
  face409: answer('409', '相同 Idempotency-Key 的请求正在处理中，请稍后重试'),
  query200: answer('000', '成功', flowItem),
  erase200: answer('000', '成功', { erasedFlows: 1 }),
  erase400: fieldErrors({ field: 'idNumber', code: 'ID_CHECKSUM', message: '身份证号校验位错误' }),
  list200: answer('000', '成功', {
    items: [flowItem],
    nextCursor: 'WzE3NjQ0MTAwMDAwMDAsIjAzNzJiMTJkLTM1MGUtNGNkMy05NzQ5LTMxNmUzZjMxNDc2ZCJd',
  }),
  list400: fieldErrors({ field: 'limit', code: 'RANGE', message: 'limit 须为1–100的整数' }),
  notifyGet200: answer('000', '成功', {
    url: 'https://issuer.example.com/etc-esign/webhooks',
    enabled: true,
    lastDelivery: null,
  }),
  notifyPut200: answer('000', '成功', {
    url: 'https://issuer.example.com/etc-esign/webhooks',
    enabled: true,
    webhookSecret: 'whsec_Q23nMIsPKRKzPJ2JD01g/uK9wug0kJb8EJYZGyrXy6k=',
  }),
  notifyPut400: fieldErrors({
    field: 'url',
    code: 'NOTIFY_URL',
    message: '通知地址不可用：须为可解析到公网地址的 https URL，且不含用户名和密码',
  }),
  notifyTest200: answer('000', '成功', { deliveryId: 'msg_mTzkjLVsFdJkpI6uJpPo5oYx' }),
  notifyTest409: answer('409', '尚未设置通知地址'),
  401: answer('401', ERROR_KINDS.unauthorized.message),
  403: answer('403', '缺少请求头 etc-sys-id，应为 E02'),
  404: answer('404', ERROR_KINDS.not_found.message),
  413: answer('413', '请求体不能超过16KB'),
  415: answer('415', ERROR_KINDS.unsupported_media.message),
  429: answer('429', ERROR_KINDS.rate_limited.message),
  500: answer('500', ERROR_KINDS.internal.message),
  502: answer('502', '认证服务余额不足，请联系运营人员'),
  503: answer('503', ERROR_KINDS.upstream_unavailable.message),
  504: answer('504', ERROR_KINDS.upstream_timeout.message),
} as const;

const DESCRIPTIONS: Record<ErrorStatus, string> = {
  400: '请求参数错误：data.errors 逐个列出错误字段（field、code、message）',
  401: 'etc-token 缺失、未知、过期或已吊销（各种情况响应相同）',
  403: 'etc-sys-id 缺失或不允许（应为 E02）',
  404: '资源不存在，或属于其他客户端',
  409: '冲突：相同 Idempotency-Key 的请求仍在处理中等',
  413: '请求体超过 16 KB',
  415: '请求体不是 JSON（Content-Type 须为 application/json）',
  429: '请求过于频繁：按 Retry-After 头等待后重试',
  500: '系统内部错误（详情只记录在日志中，凭 requestId 查询）',
  502: 'e签宝拒绝了请求或返回了无法识别的应答；responseMsg 说明原因',
  503: 'e签宝暂不可用（或本服务正在停止）；可用同一 Idempotency-Key 重试',
  504: 'e签宝响应超时；可用同一 Idempotency-Key 重试',
};

const X_REQUEST_ID = {
  'x-request-id': {
    type: 'string',
    format: 'uuid',
    description: '与响应体 requestId 相同，也出现在服务端每条日志中',
  },
};
const RETRY_AFTER = {
  'retry-after': { type: 'integer', description: '建议等待的秒数' },
};
export const IDEMPOTENT_REPLAYED = {
  'idempotent-replayed': {
    type: 'string',
    enum: ['true'],
    description: '仅当本响应是相同 Idempotency-Key 的首次响应的重放时出现',
  },
};

const FieldErrors = Type.Object({ errors: Type.Array(FieldErrorSchema) });

function envelope(responseCode: string, data: TSchema) {
  return Type.Object({
    requestId: Type.String({ format: 'uuid' }),
    responseCode: Type.Literal(responseCode),
    responseMsg: Type.String({ description: '中文说明，可直接展示；不含提交的个人信息' }),
    data,
  });
}

/** A documented 200 answer with `data` of this schema. */
export function success(
  data: TSchema,
  example: unknown,
  description: string,
  headers: Record<string, unknown> = {},
) {
  return {
    ...envelope('000', data),
    description,
    headers: { ...X_REQUEST_ID, ...headers },
    examples: [example],
  };
}

/**
 * Documented error answers: `statuses` with the shared example of each, `specific` with this
 * operation's own example (its 400 field errors, its reason for a 409).
 */
export function errors(statuses: ErrorStatus[], specific: Partial<Record<ErrorStatus, unknown>> = {}) {
  const all = [...new Set([...statuses, ...(Object.keys(specific).map(Number) as ErrorStatus[])])].sort();
  return Object.fromEntries(
    all.map((status) => {
      const example = specific[status] ?? EXAMPLES[status as keyof typeof EXAMPLES];
      return [
        status,
        {
          // A 400 for a malformed URL has no field to name, hence the null.
          ...envelope(String(status), status === 400 ? Type.Union([FieldErrors, Type.Null()]) : Type.Null()),
          description: DESCRIPTIONS[status],
          headers: { ...X_REQUEST_ID, ...(status === 429 ? RETRY_AFTER : {}) },
          examples: [example],
        },
      ];
    }),
  );
}

/** Statuses every authenticated operation can answer. */
export const AUTHENTICATED: ErrorStatus[] = [401, 403, 429, 500];
/** Statuses of an operation that reads a JSON body. */
export const WITH_BODY: ErrorStatus[] = [400, 413, 415];
