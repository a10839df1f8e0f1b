import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ServiceDeps } from '../../services/deps.js';
import {
  getNotifyEndpoint,
  putNotifyEndpoint,
  sendTestPing,
} from '../../services/notifications/self-service.js';
import { CLIENT_SECURITY, requireClient } from '../auth.js';
import { ok } from '../envelope.js';
import { AUTHENTICATED, EXAMPLES, errors, success, WITH_BODY } from '../responses.js';

const PATH = '/esign/api/notify-endpoint';

const NotifyEndpointData = Type.Object({
  url: Type.Union([Type.String(), Type.Null()], { description: '通知地址；未设置时为 null' }),
  enabled: Type.Boolean({ description: '是否在发送通知（收到 410 后停用，重新设置地址即恢复）' }),
  disabledAt: Type.Optional(Type.String({ description: '停用时间' })),
  lastDelivery: Type.Union([
    Type.Null(),
    Type.Object({
      deliveryId: Type.String({ description: '即 webhook-id' }),
      type: Type.String(),
      status: Type.Union([Type.Literal('PENDING'), Type.Literal('DELIVERED'), Type.Literal('DEAD')]),
      attempts: Type.Integer(),
      lastStatus: Type.Optional(Type.Integer({ description: '最近一次投递收到的 HTTP 状态码' })),
      lastAttemptAt: Type.Optional(Type.String()),
      deliveredAt: Type.Optional(Type.String()),
    }),
  ]),
});

const PutBody = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      maxLength: 2048,
      examples: ['https://issuer.example.com/etc-esign/webhooks'],
    }),
  },
  { additionalProperties: true },
);

const PutData = Type.Object({
  url: Type.String(),
  enabled: Type.Boolean(),
  webhookSecret: Type.Optional(
    Type.String({ description: 'Standard Webhooks 签名密钥（whsec_…），仅在首次设置地址时返回一次' }),
  ),
});

/** Self-service notification settings: a client reads and sets its own notify URL and tests it. */
export const notifyEndpointRoutes =
  (deps: ServiceDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    const common = { onRequest: requireClient(deps) };
    app.get(
      PATH,
      {
        ...common,
        schema: {
          summary: '查询结果通知地址',
          tags: ['notify'],
          security: CLIENT_SECURITY,
          response: {
            200: success(NotifyEndpointData, EXAMPLES.notifyGet200, '通知地址与最近一次投递结果'),
            ...errors(AUTHENTICATED),
          },
        },
      },
      async (request) => ok(request, await getNotifyEndpoint(deps, request.client.clientId)),
    );
    app.put(
      PATH,
      {
        ...common,
        schema: {
          summary: '设置结果通知地址',
          description: '与命令行 client update 相同的地址规则：https、公网地址、不含用户名密码。',
          tags: ['notify'],
          security: CLIENT_SECURITY,
          body: PutBody,
          response: {
            200: success(PutData, EXAMPLES.notifyPut200, '已设置；首次设置时返回签名密钥'),
            ...errors([...WITH_BODY, ...AUTHENTICATED], { 400: EXAMPLES.notifyPut400 }),
          },
        },
      },
      async (request) =>
        ok(request, await putNotifyEndpoint(deps, request.client.clientId, request.body.url)),
    );
    app.post(
      `${PATH}/test`,
      {
        ...common,
        schema: {
          summary: '发送测试通知（test.ping）',
          description: '经正常的通知队列发送一条已签名的 test.ping 事件，返回其投递编号（即 webhook-id）。',
          tags: ['notify'],
          security: CLIENT_SECURITY,
          response: {
            200: success(
              Type.Object({ deliveryId: Type.String({ description: '即该通知的 webhook-id' }) }),
              EXAMPLES.notifyTest200,
              '已排入通知队列',
            ),
            ...errors(AUTHENTICATED, { 409: EXAMPLES.notifyTest409 }),
          },
        },
      },
      async (request) => ok(request, await sendTestPing(deps, request.client.clientId)),
    );
  };
