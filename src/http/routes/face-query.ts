import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ServiceDeps } from '../../services/deps.js';
import { getFlowForClient } from '../../services/flows/queries.js';
import { CLIENT_SECURITY, requireClient } from '../auth.js';
import { ok } from '../envelope.js';
import { AUTHENTICATED, EXAMPLES, errors, success } from '../responses.js';

export const FlowData = Type.Object({
  flowId: Type.String(),
  status: Type.Union([
    Type.Literal('PENDING'),
    Type.Literal('SUCCESS'),
    Type.Literal('FAILED'),
    Type.Literal('EXPIRED'),
    Type.Literal('SUPERSEDED'),
  ]),
  esignAccountId: Type.Optional(Type.String()),
  failReason: Type.Optional(Type.String()),
  createdAt: Type.String(),
  expire: Type.String(),
  openedAt: Type.Optional(Type.String()),
  completedAt: Type.Optional(Type.String()),
  consentAt: Type.Optional(Type.String({ description: '本人在认证页面同意人脸信息采集的时间' })),
  erasedAt: Type.Optional(Type.String({ description: '个人信息被删除的时间（到期清理或应请求删除）' })),
  person: Type.Object(
    { name: Type.String(), idNumber: Type.String(), mobile: Type.String() },
    { description: '脱敏后的个人信息；删除后各字段为“已删除”' },
  ),
});

export const faceQueryRoute =
  (deps: ServiceDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/esign/api/auth/individual/face/:flowId',
      {
        onRequest: requireClient(deps),
        schema: {
          summary: '查询人脸识别认证流程',
          tags: ['auth'],
          security: CLIENT_SECURITY,
          params: Type.Object({ flowId: Type.String({ description: '发起认证时返回的 flowId' }) }),
          response: {
            200: success(FlowData, EXAMPLES.query200, '认证流程（个人信息已脱敏）'),
            ...errors([...AUTHENTICATED, 404]),
          },
        },
      },
      async (request) =>
        ok(request, await getFlowForClient(deps, request.client.clientId, request.params.flowId, request.id)),
    );
  };
