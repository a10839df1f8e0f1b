import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { FIELD_ERROR_CODES, todayInShanghai, validateFaceRequest } from '../../domain/identity/index.js';
import { invalid } from '../../errors.js';
import type { ServiceDeps } from '../../services/deps.js';
import { startFaceAuthOnce } from '../../services/flows/start.js';
import { checkIdempotencyKey } from '../../services/idempotency.js';
import { CLIENT_SECURITY, requireClient } from '../auth.js';
import { Envelope, ErrorEnvelope, ok } from '../envelope.js';

const field = (description: string, example: string) =>
  Type.String({ minLength: 1, maxLength: 32, description, examples: [example] });

/** The schema documents the contract; `domain/identity` alone judges a body (see the route). */
const DOCUMENTATION_ONLY = () => () => true;

export const FaceStartBody = Type.Object(
  {
    name: field('姓名：汉字，可含间隔号“·”，2–32个字符', '张三'),
    idNumber: field('18位居民身份证号或港澳台居民居住证号码', '11010519491231002X'),
    mobile: field('11位中国大陆手机号', '13800138000'),
    validPeriod: field('证件有效期：YYYY.MM.DD-YYYY.MM.DD 或 YYYY.MM.DD-长期', '2019.01.01-2039.01.01'),
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

const errorCodesDoc = FIELD_ERROR_CODES.map((c) => `- \`${c.code}\`: ${c.description}`).join('\n');

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
          body: FaceStartBody,
          response: { 200: Envelope(FaceStartData), '4xx': ErrorEnvelope, '5xx': ErrorEnvelope },
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
