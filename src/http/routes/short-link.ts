import type { FastifyPluginAsync } from 'fastify';
import type { ServiceDeps } from '../../services/deps.js';
import { openShortLink } from '../../services/flows/short-links.js';
import { messagePage, PAGE_HEADERS } from '../pages/layout.js';

export const shortLinkRoute =
  (deps: ServiceDeps): FastifyPluginAsync =>
  async (app) => {
    app.get<{ Params: { code: string } }>('/s/:code', { schema: { hide: true } }, async (request, reply) => {
      const target = await openShortLink(deps, request.params.code, request.ip);
      if (target.kind === 'redirect')
        return reply.header('cache-control', 'no-store').redirect(target.url, 302);
      if (target.kind === 'rate_limited') {
        return reply
          .code(429)
          .headers({ ...PAGE_HEADERS, 'retry-after': String(target.retryAfterSec) })
          .send(messagePage('访问过于频繁', '⏱', ['请稍后再打开链接。']));
      }
      if (target.kind === 'gone') {
        return reply
          .code(410)
          .headers(PAGE_HEADERS)
          .send(
            messagePage('链接已失效', '⌛', [
              '该认证链接已过期、已被新的链接替代或认证已完成。',
              '如需重新认证，请联系办理机构获取新的链接。',
            ]),
          );
      }
      return reply
        .code(404)
        .headers(PAGE_HEADERS)
        .send(messagePage('链接不存在', '❓', ['请检查链接是否完整，或联系办理机构获取新的链接。']));
    });
  };
