import type { FastifyPluginAsync } from 'fastify';
import type { ServiceDeps } from '../../services/deps.js';
import { getResultPage, type PublicStatus } from '../../services/flows/queries.js';
import { messagePage, PAGE_HEADERS, type PageIcon } from '../pages/layout.js';

const RESULT_TEXT: Record<PublicStatus, [string, PageIcon, string]> = {
  SUCCESS: ['认证成功', '✅', '您已完成实名认证，请返回办理页面继续签署。'],
  FAILED: ['认证未通过', '❌', '本次人脸识别未通过，请联系办理机构重新获取认证链接。'],
  PENDING: ['认证处理中', '⏳', '认证结果正在确认，请稍后返回办理页面查看。'],
  EXPIRED: ['链接已失效', '⌛', '该认证链接已过期，请联系办理机构获取新的链接。'],
  SUPERSEDED: ['链接已失效', '⌛', '该认证链接已被新的链接替代，请使用最新收到的链接。'],
};

/** Where the person's browser lands after the provider's face page (e签宝 `callbackUrl`). */
export const resultPageRoute =
  (deps: ServiceDeps): FastifyPluginAsync =>
  async (app) => {
    app.get<{ Params: { flowId: string } }>(
      '/h5/result/:flowId',
      { schema: { hide: true } },
      async (request, reply) => {
        const status = await getResultPage(deps, request.params.flowId);
        if (!status) {
          return reply
            .code(404)
            .headers(PAGE_HEADERS)
            .send(messagePage('链接不存在', '❓', ['请联系办理机构获取新的链接。']));
        }
        const [title, icon, line] = RESULT_TEXT[status];
        return reply.headers(PAGE_HEADERS).send(messagePage(title, icon, [line]));
      },
    );
  };
