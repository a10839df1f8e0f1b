import type { FastifyPluginAsync } from 'fastify';
import type { ServiceDeps } from '../../services/deps.js';
import { checkReady } from '../../services/health.js';
import { ok } from '../envelope.js';

export const healthRoutes =
  (deps: ServiceDeps): FastifyPluginAsync =>
  async (app) => {
    app.get('/healthz', { schema: { summary: '进程存活检查', tags: ['ops'] } }, async (request) =>
      ok(request, { status: 'ok' }),
    );
    app.get(
      '/readyz',
      {
        schema: {
          summary: '就绪检查：逐项报告数据库、Redis、限流计数方式和 e签宝 最近一次调用的结果',
          tags: ['ops'],
        },
      },
      async (request, reply) => {
        const ready = await checkReady(deps);
        if (!ready.ok) {
          return reply
            .code(503)
            .send({ requestId: request.id, responseCode: '503', responseMsg: '服务未就绪', data: ready });
        }
        return ok(request, ready);
      },
    );
  };
