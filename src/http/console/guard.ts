import { parse as parseCookie, serialize } from 'cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type TSchema, Type } from 'typebox';
import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';
import type { AuditActor } from '../../services/audit.js';
import {
  authenticateSession,
  csrfMatches,
  type OperatorSession,
} from '../../services/console/console-sessions.js';
import type { ServiceDeps } from '../../services/deps.js';
import { FieldErrorSchema, ok } from '../envelope.js';
import { CSRF_HEADER, type ROUTES, type RouteName } from './contract.js';

declare module 'fastify' {
  interface FastifyRequest {
    operator: OperatorSession;
  }
}

export const SESSION_COOKIE = 'etc_console_session';
/** Calls an operator may make while the password must still be changed. */
const BEFORE_PASSWORD_CHANGE: readonly RouteName[] = ['me', 'changePassword', 'logout'];

export const sessionCookie = (config: Config, value: string, maxAgeSeconds: number) =>
  serialize(SESSION_COOKIE, value, {
    httpOnly: true,
    sameSite: 'strict',
    secure: config.console.secureCookie,
    path: '/console',
    maxAge: maxAgeSeconds,
  });

export const actorOf = (request: FastifyRequest): AuditActor => ({
  kind: 'operator',
  id: request.operator.username,
});

/**
 * Who may make a call, checked before the body is read: a live session (401), the CSRF header on
 * state-changing calls (403), a changed first password (403) and the admin role (403).
 */
function guard(deps: ServiceDeps, name: RouteName, route: (typeof ROUTES)[RouteName]) {
  return async (request: FastifyRequest) => {
    if (route.role === 'none') return;
    const cookies = parseCookie(request.headers.cookie ?? '');
    const session = await authenticateSession(deps, cookies[SESSION_COOKIE]);
    const header = request.headers[CSRF_HEADER];
    if (route.stateChanging && !csrfMatches(session, typeof header === 'string' ? header : undefined)) {
      throw new AppError('forbidden', { userMessage: '缺少或无效的 CSRF 令牌，请刷新页面后重试' });
    }
    if (session.mustChangePassword && !BEFORE_PASSWORD_CHANGE.includes(name)) {
      throw new AppError('forbidden', { userMessage: '请先修改初始密码' });
    }
    if (route.role === 'admin' && session.role !== 'admin') {
      throw new AppError('forbidden', { userMessage: '需要管理员权限' });
    }
    request.operator = session;
  };
}

/** The envelope, as the console's answers are described in the OpenAPI document. */
const envelope = (data: TSchema) =>
  Type.Object({
    requestId: Type.String({ format: 'uuid' }),
    responseCode: Type.String(),
    responseMsg: Type.String(),
    data,
  });
const ERROR = envelope(Type.Union([Type.Null(), Type.Object({ errors: Type.Array(FieldErrorSchema) })]));

type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** Registers one call of the contract: its method, path, schemas, guard; the handler gives `data`. */
export function consoleRoute<N extends RouteName>(
  app: FastifyInstance,
  deps: ServiceDeps,
  name: N,
  route: (typeof ROUTES)[N],
  handler: Handler,
): void {
  const r = route as (typeof ROUTES)[RouteName] & Partial<Record<'params' | 'query' | 'body', unknown>>;
  app.route({
    method: r.method,
    url: r.path,
    onRequest: guard(deps, name, r),
    schema: {
      tags: ['console'],
      ...(r.params ? { params: r.params } : {}),
      ...(r.query ? { querystring: r.query } : {}),
      ...(r.body ? { body: r.body } : {}),
      response: { 200: envelope(r.response), '4xx': ERROR, '5xx': ERROR },
    } as Record<string, unknown>,
    handler: async (request, reply) => ok(request, await handler(request, reply)),
  });
}
