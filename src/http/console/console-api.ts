import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../../errors.js';
import type { ServiceDeps } from '../../services/deps.js';
import { auditRoute } from './audit-route.js';
import { clientRoutes } from './client-routes.js';
import { CONSOLE_API } from './contract.js';
import { deliveryRoutes } from './delivery-routes.js';
import { flowRoutes } from './flow-routes.js';
import { overviewRoute } from './overview-route.js';
import { sessionRoutes } from './session-routes.js';
import { tokenRoutes } from './token-routes.js';

/** Answers of the console API are never cached, framed or sent with a referrer. */
const API_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

/** The console's JSON API under /console/api (see contract.ts). */
export const consoleApi =
  (deps: ServiceDeps): FastifyPluginAsync =>
  async (app) => {
    app.addHook('onRequest', async (_request, reply) => {
      reply.headers(API_HEADERS);
    });
    sessionRoutes(app, deps);
    overviewRoute(app, deps);
    flowRoutes(app, deps);
    clientRoutes(app, deps);
    tokenRoutes(app, deps);
    deliveryRoutes(app, deps);
    auditRoute(app, deps);
    // Unknown API paths get the envelope 404 with the same headers (the app's 404 handler has none).
    app.all(`${CONSOLE_API}/*`, { schema: { hide: true } }, async () => {
      throw new AppError('not_found', { userMessage: '接口不存在' });
    });
  };
