import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ServiceDeps } from '../../services/deps.js';
import { DEFAULT_PAGE_SIZE, listFlowsForClient, MAX_PAGE_SIZE } from '../../services/flows/queries.js';
import { CLIENT_SECURITY, requireClient } from '../auth.js';
import { ok } from '../envelope.js';
import { AUTHENTICATED, EXAMPLES, errors, success } from '../responses.js';
import { FlowData } from './face-query.js';

const Query = Type.Object({
  status: Type.Optional(
    Type.String({
      description: '只列出该状态：PENDING、SUCCESS、FAILED、EXPIRED、SUPERSEDED',
      examples: ['SUCCESS'],
    }),
  ),
  since: Type.Optional(
    Type.String({
      description: '创建时间不早于（含），带时区的 ISO 8601',
      examples: ['2026-11-28T00:00:00+08:00'],
    }),
  ),
  until: Type.Optional(Type.String({ description: '创建时间早于（不含），带时区的 ISO 8601' })),
  cursor: Type.Optional(Type.String({ description: '上一页返回的 nextCursor' })),
  limit: Type.Optional(
    Type.String({ description: `每页条数，1–${MAX_PAGE_SIZE}，默认 ${DEFAULT_PAGE_SIZE}`, examples: ['20'] }),
  ),
});

const ListData = Type.Object({
  items: Type.Array(FlowData),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: '下一页的 cursor；最后一页为 null' }),
});

export const faceListRoute =
  (deps: ServiceDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/esign/api/auth/individual/face',
      {
        onRequest: requireClient(deps),
        schema: {
          summary: '列出本客户端的人脸识别认证流程',
          description:
            '按创建时间倒序分页；cursor 稳定，新建的流程不会打乱翻页。条目与单条查询相同。字段错误码：`ENUM`（status）、`DATE_FORMAT`（since/until）、`RANGE`（limit）、`CURSOR`（cursor）。',
          tags: ['auth'],
          security: CLIENT_SECURITY,
          querystring: Query,
          response: {
            200: success(ListData, EXAMPLES.list200, '一页认证流程，按创建时间倒序'),
            ...errors(AUTHENTICATED, { 400: EXAMPLES.list400 }),
          },
        },
      },
      async (request) =>
        ok(request, await listFlowsForClient(deps, request.client.clientId, request.query, request.id)),
    );
  };
