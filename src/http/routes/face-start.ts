import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { FIELD_ERROR_CODES, todayInShanghai, validateFaceRequest } from '../../domain/identity/index.js';
import { invalid } from '../../errors.js';
import type { ServiceDeps } from '../../services/deps.js';
import { startFaceAuthOnce } from '../../services/flows/start.js';
import { checkIdempotencyKey } from '../../services/idempotency.js';
import { CLIENT_SECURITY, requireClient } from '../auth.js';
import { ok } from '../envelope.js';
import { AUTHENTICATED, EXAMPLES, errors, IDEMPOTENT_REPLAYED, success, WITH_BODY } from '../responses.js';

const field = (description: string, example: string) =>
  Type.String({ minLength: 1, maxLength: 32, description, examples: [example] });

/** The schema documents the contract; `domain/identity` alone judges a body (see the route). */
const DOCUMENTATION_ONLY = () => () => true;

export const FaceStartBody = Type.Object(
  {
    name: field('姓名：汉字，可含间隔号“·”，2–32个字符', '张三'),
    idNumber: field('18位居民身份证号或港澳台居民居住证号码', '11010519491231002X'),
    mobile: field('11位中国大陆手机号', '13800138000'),
    // The example person was born in 1949: a card issued at 69 is valid for life (长期).
    validPeriod: field('证件有效期：YYYY.MM.DD-YYYY.MM.DD 或 YYYY.MM.DD-长期', '2019.01.01-长期'),
  },
  { additionalProperties: true },
);

export const FaceStartData = Type.Object({
  authUrl: Type.String({ description: '短链接；已认证时为空' }),
  originalUrl: Type.String({ description: '长链接；已认证时为空' }),
  expire: Type.String({ description: '链接失效时间（北京时间 ISO 8601）；已认证时为空' }),
  esignAccountId: Type.Optional(Type.String({ description: 'e签宝账号；已认证时返回' })),
  message: Type.Union([Type.Literal('success'), Type.Literal('verified')]),
  flowId: Type.Optional(Type.String({ description: '认证流程号，可用于查询' })),
});

/** Codes decided before the body reaches domain/identity: the body as a whole, and the idempotency header. */
const REQUEST_ERROR_CODES = [
  { code: 'JSON_SYNTAX', description: 'field 为 body：请求体不是合法的JSON' },
  {
    code: 'BODY_ENCODING',
    description: 'field 为 body：请求体须为 UTF-8 编码的 JSON（如 GBK 编码会被拒绝）',
  },
  { code: 'IDEMPOTENCY_MISMATCH', description: 'field 为 Idempotency-Key：该键已用于内容不同的请求' },
  { code: 'KEY_FORMAT', description: 'field 为 Idempotency-Key：须为1–64个可打印ASCII字符' },
];

const errorCodesDoc = [...FIELD_ERROR_CODES, ...REQUEST_ERROR_CODES]
  .map((c) => `- \`${c.code}\`: ${c.description}`)
  .join('\n');

export const faceStartRoute =
  (deps: ServiceDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/esign/api/auth/individual/face',
      {
        validatorCompiler: DOCUMENTATION_ONLY,
        onRequest: requireClient(deps),
        schema: {
          summary: '个人实名认证 - 人脸识别',
          description: `发起（或复用）人脸识别实名认证。字段错误码（data.errors[].code）：\n\n${errorCodesDoc}`,
          tags: ['auth'],
          security: CLIENT_SECURITY,
          headers: Type.Object({
            'idempotency-key': Type.Optional(
              Type.String({
                maxLength: 64,
                pattern: '^[\\x20-\\x7e]+$',
                description:
                  '幂等键（1–64个可打印ASCII字符，按客户端隔离，保留24小时）：相同键与相同请求体重放首次成功响应并带 Idempotent-Replayed: true；请求体不同 → 400 IDEMPOTENCY_MISMATCH；首次请求仍在处理 → 409。失败的请求不保存，可用同一键重试。',
                examples: ['order-20261129-0001'],
              }),
            ),
          }),
          body: FaceStartBody,
          response: {
            200: success(
              FaceStartData,
              EXAMPLES.face200,
              '已认证（message=verified，返回 esignAccountId）或返回认证链接（message=success）',
              IDEMPOTENT_REPLAYED,
            ),
            ...errors([...WITH_BODY, ...AUTHENTICATED, 409, 502, 503, 504], {
              400: EXAMPLES.face400,
              409: EXAMPLES.face409,
            }),
          },
        },
      },
      async (request, reply) => {
        const idempotencyKey = checkIdempotencyKey(request.headers['idempotency-key']);
        const checked = validateFaceRequest(request.body as unknown, {
          today: todayInShanghai(new Date(deps.now())),
          minAge: deps.config.minAge,
        });
        if (!checked.ok) throw invalid(checked.errors);
        const { result: r, replayed } = await startFaceAuthOnce(
          deps,
          request.client.clientId,
          checked.value,
          idempotencyKey,
        );
        if (replayed) reply.header('idempotent-replayed', 'true');
        else deps.metrics.flowsStarted.inc({ outcome: r.outcome });
        if (r.outcome === 'verified') {
          return ok(request, {
            authUrl: '',
            originalUrl: '',
            expire: '',
            esignAccountId: r.esignAccountId,
            message: 'verified' as const,
          });
        }
        return ok(request, {
          authUrl: r.authUrl,
          originalUrl: r.originalUrl,
          expire: r.expire,
          ...(r.esignAccountId ? { esignAccountId: r.esignAccountId } : {}),
          message: 'success' as const,
          flowId: r.flowId,
        });
      },
    );
  };
