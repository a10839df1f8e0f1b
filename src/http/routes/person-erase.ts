import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ServiceDeps } from '../../services/deps.js';
import { erasePerson } from '../../services/lifecycle/erasure.js';
import { CLIENT_SECURITY, requireClient } from '../auth.js';
import { ok } from '../envelope.js';
import { AUTHENTICATED, EXAMPLES, errors, success, WITH_BODY } from '../responses.js';

/** The schema documents the contract; `domain/identity` alone judges a body (as for the face start). */
const DOCUMENTATION_ONLY = () => () => true;

export const PersonEraseBody = Type.Object(
  { idNumber: Type.String({ minLength: 1, maxLength: 32, description: '要删除其个人信息的证件号码' }) },
  { additionalProperties: true },
);

export const PersonEraseData = Type.Object({
  erasedFlows: Type.Integer({ description: '本次删除了个人信息的认证流程数（再次请求为 0）' }),
});

export const personEraseRoute =
  (deps: ServiceDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/esign/api/persons/erase',
      {
        validatorCompiler: DOCUMENTATION_ONLY,
        onRequest: requireClient(deps),
        schema: {
          summary: '删除个人信息（应个人请求）',
          description:
            '删除本客户名下该证件号码对应的全部认证流程中的个人信息（姓名、证件号、手机号、证件有效期），并终止进行中的流程（其链接立即失效）。其他客户的数据不受影响。可重复调用：已删除或从未提交过的证件号返回 erasedFlows 为 0。',
          tags: ['persons'],
          security: CLIENT_SECURITY,
          body: PersonEraseBody,
          response: {
            200: success(PersonEraseData, EXAMPLES.erase200, '本次删除的流程数'),
            ...errors([...WITH_BODY, ...AUTHENTICATED], { 400: EXAMPLES.erase400 }),
          },
        },
      },
      async (request) =>
        ok(
          request,
          await erasePerson(deps, request.client.clientId, request.body as unknown, {
            actor: { kind: 'client', id: request.client.clientId },
            requestId: request.id,
          }),
        ),
    );
  };
