/**
 * The document-level parts of the OpenAPI description served at /docs: info, security schemes,
 * and the notifications the gateway sends to clients (OpenAPI 3.1 `webhooks`). Operations are
 * described by their routes' schemas.
 */
import { Type } from 'typebox';

const SIGNATURE_SCHEME = `每个通知按 Standard Webhooks（https://www.standardwebhooks.com/）签名：
签名内容为 \`webhook-id + "." + webhook-timestamp + "." + 原始请求体\`，算法 HMAC-SHA256，
密钥为 \`whsec_\` 之后的 Base64 解码字节（PUT /esign/api/notify-endpoint 首次设置地址时返回）。
\`webhook-signature\` 为空格分隔的 \`v1,<Base64 签名>\` 列表（轮换密钥的宽限期内有两个），任一匹配即有效。
请在解析 JSON 之前用原始字节验签，拒绝时间戳偏差超过 5 分钟的请求，并按 webhook-id 去重（重试时不变）。
任何 2xx 表示已收到；其他状态、超时或连接失败按退避计划重试；410 会停用该通知地址，直到重新设置。`;

const header = (name: string, description: string, example: string) => ({
  name,
  in: 'header' as const,
  required: true,
  description,
  schema: { type: 'string' },
  example,
});

const SIGNATURE_HEADERS = [
  header('webhook-id', '通知编号（即投递编号），重试时不变，用于去重', 'msg_mTzkjLVsFdJkpI6uJpPo5oYx'),
  header('webhook-timestamp', '发送时间，Unix 秒', '1764410400'),
  header(
    'webhook-signature',
    '空格分隔的 v1,<Base64 HMAC-SHA256>',
    'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
  ),
];

const FlowEvent = (type: string, status: string, extra: Record<string, ReturnType<typeof Type.String>>) =>
  Type.Object(
    {
      type: Type.Literal(type),
      flowId: Type.String({ format: 'uuid' }),
      status: Type.Literal(status),
      ...extra,
      occurredAt: Type.String({ description: '北京时间 ISO 8601' }),
    },
    { additionalProperties: true },
  );

const webhook = (summary: string, schema: object, example: object) => ({
  post: {
    summary,
    description: SIGNATURE_SCHEME,
    tags: ['notify'],
    parameters: SIGNATURE_HEADERS,
    requestBody: { required: true, content: { 'application/json': { schema, example } } },
    responses: {
      '200': { description: '任何 2xx：已收到，不再重试' },
      '410': { description: '停用该通知地址，直到客户端重新设置' },
    },
  },
});

const FLOW_ID = '0372b12d-350e-4cd3-9749-316e3f31476d';

export const OPENAPI_DOCUMENT = {
  openapi: '3.1.0',
  info: {
    title: 'ETC 电子签业务端接口 — 个人实名认证',
    version: '1.0.0',
    description:
      '所有 /esign/api 接口须携带请求头 etc-token（访问令牌）与 etc-sys-id（固定 E02）。所有响应均为统一信封 { requestId, responseCode, responseMsg, data }，HTTP 状态与 responseCode 一致，requestId 同时作为 x-request-id 响应头返回。认证结果另以已签名的通知推送到客户端设置的通知地址（见 webhooks）。',
  },
  components: {
    securitySchemes: {
      etcToken: { type: 'apiKey' as const, in: 'header', name: 'etc-token' },
      etcSysId: { type: 'apiKey' as const, in: 'header', name: 'etc-sys-id', description: '固定为 E02' },
    },
  },
  webhooks: {
    'face_auth.success': webhook(
      '认证成功',
      FlowEvent('face_auth.success', 'SUCCESS', { esignAccountId: Type.String() }),
      {
        type: 'face_auth.success',
        flowId: FLOW_ID,
        status: 'SUCCESS',
        esignAccountId: '240243d7c298638c30f7e47a678f8b00',
        occurredAt: '2026-11-29T18:05:00+08:00',
      },
    ),
    'face_auth.failed': webhook(
      '认证未通过',
      FlowEvent('face_auth.failed', 'FAILED', { failReason: Type.String() }),
      {
        type: 'face_auth.failed',
        flowId: FLOW_ID,
        status: 'FAILED',
        failReason: '人脸识别认证未通过',
        occurredAt: '2026-11-29T18:05:00+08:00',
      },
    ),
    'face_auth.expired': webhook('链接过期仍未完成认证', FlowEvent('face_auth.expired', 'EXPIRED', {}), {
      type: 'face_auth.expired',
      flowId: FLOW_ID,
      status: 'EXPIRED',
      occurredAt: '2026-11-30T17:00:00+08:00',
    }),
    'test.ping': webhook(
      '测试通知（POST /esign/api/notify-endpoint/test）',
      Type.Object({ type: Type.Literal('test.ping'), occurredAt: Type.String() }),
      { type: 'test.ping', occurredAt: '2026-11-29T18:00:00+08:00' },
    ),
  },
};
