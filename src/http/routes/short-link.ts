import type { FastifyPluginAsync } from 'fastify';
import type { ServiceDeps } from '../../services/deps.js';
import { openShortLink } from '../../services/flows/short-links.js';
import { messagePage, PAGE_HEADERS } from '../pages/layout.js';
import { linkOverPage, linkUnknownPage } from '../pages/link-pages.js';

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
      if (target.kind === 'gone')
        return reply.code(410).headers(PAGE_HEADERS).send(linkOverPage(target.status));
      return reply.code(404).headers(PAGE_HEADERS).send(linkUnknownPage());
    });
  };
