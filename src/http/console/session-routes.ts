import type { FastifyInstance } from 'fastify';
import {
  changePassword,
  login,
  logout,
  type OperatorSession,
} from '../../services/console/console-sessions.js';
import type { ServiceDeps } from '../../services/deps.js';
import { type BodyOf, ROUTES } from './contract.js';
import { consoleRoute, sessionCookie } from './guard.js';

const me = (s: OperatorSession) => ({
  username: s.username,
  role: s.role,
  mustChangePassword: s.mustChangePassword,
  csrfToken: s.csrfToken,
});

/** Log in, who am I, log out, change my password. */
export function sessionRoutes(app: FastifyInstance, deps: ServiceDeps): void {
  consoleRoute(app, deps, 'login', ROUTES.login, async (request, reply) => {
    const body = request.body as BodyOf<'login'>;
    const session = await login(deps, { ...body, ip: request.ip, requestId: request.id });
    reply.header('set-cookie', sessionCookie(deps.config, session.cookieValue, session.maxAgeSeconds));
    return me(session);
  });
  consoleRoute(app, deps, 'me', ROUTES.me, async (request) => me(request.operator));
  consoleRoute(app, deps, 'logout', ROUTES.logout, async (request, reply) => {
    await logout(deps, request.operator);
    reply.header('set-cookie', sessionCookie(deps.config, '', 0));
    return null;
  });
  consoleRoute(app, deps, 'changePassword', ROUTES.changePassword, async (request) =>
    me(await changePassword(deps, request.operator, request.body as BodyOf<'changePassword'>)),
  );
}
