import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, LogController } from 'fastify';
import { AppError } from '../errors.js';
import type { ServiceDeps } from '../services/deps.js';
import { capConnectionsPerIp } from './connection-limits.js';
import { consoleApi } from './console/console-api.js';
import { consolePages } from './console/console-pages.js';
import { sendError, toAppError } from './envelope.js';
import { faultLog } from './fault-log.js';
import { registerJsonBodyParser } from './json-body.js';
import { OPENAPI_DOCUMENT } from './openapi.js';
import { esignCallbackRoute } from './routes/esign-callback.js';
import { faceListRoute } from './routes/face-list.js';
import { faceQueryRoute } from './routes/face-query.js';
import { faceStartRoute } from './routes/face-start.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoute } from './routes/metrics.js';
import { notifyEndpointRoutes } from './routes/notify-endpoint.js';
import { personEraseRoute } from './routes/person-erase.js';
import { resultPageRoute } from './routes/result-page.js';
import { sandboxH5Route } from './routes/sandbox-h5.js';
import { shortLinkRoute } from './routes/short-link.js';

export const BODY_LIMIT = 16 * 1024;

/** Answers for requests Node's HTTP parser gives up on, by its error code; anything else is a 400. */
const PARSER_ERRORS: Record<string, { status: number; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, message: '请求头过大' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, message: '请求超时' },
};

/** Sent with every answer: JSON and pages are never to be sniffed as something else or framed. */
export const SECURITY_HEADERS = { 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY' };

function rawEnvelope(status: number, message: string, withBody: boolean): string {
  const requestId = randomUUID();
  const envelope = JSON.stringify({
    requestId,
    responseCode: String(status),
    responseMsg: message,
    data: null,
  });
  const body = withBody ? envelope : '';
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'content-type: application/json; charset=utf-8',
    ...Object.entries(SECURITY_HEADERS).map(([name, value]) => `${name}: ${value}`),
    `content-length: ${Buffer.byteLength(envelope)}`,
    `x-request-id: ${requestId}`,
    'connection: close',
    '',
    body,
  ].join('\r\n');
}

/** A quarter of the headers timeout, between 250 ms and 5 s: cheap, and tight enough to matter. */
function checkingIntervalMs(headersTimeoutMs: number): number {
  return Math.min(5000, Math.max(250, Math.floor(headersTimeoutMs / 4)));
}

export type App = Awaited<ReturnType<typeof buildApp>>;

/**
 * Which routes a listener serves: everything (the default), or with ADMIN_PORT set the public API
 * on the main port and the console and /metrics on the admin listener.
 */
export type Surface = 'all' | 'public' | 'admin';

export async function buildApp(deps: ServiceDeps, surface: Surface = 'all') {
  const app = Fastify({
    loggerInstance: deps.logger,
    // Our own one-line-per-request log (onResponse) replaces Fastify's, which logs raw URLs.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    // Our ids only: an incoming x-request-id could be used to forge log correlation.
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    bodyLimit: BODY_LIMIT,
    // Fastify switches Node's request timeouts off by default; a stalled sender would hold its
    // socket forever. Node checks them every `connectionsCheckingInterval`, so a socket is closed
    // at most that much after its timeout.
    requestTimeout: deps.config.http.requestTimeoutMs,
    connectionTimeout: deps.config.http.idleTimeoutMs,
    keepAliveTimeout: deps.config.http.keepAliveTimeoutMs,
    http: {
      headersTimeout: deps.config.http.headersTimeoutMs,
      connectionsCheckingInterval: checkingIntervalMs(deps.config.http.headersTimeoutMs),
    },
    // Requests Node's HTTP parser rejects (raw non-ASCII bytes, broken framing) never reach
    // Fastify: answer them with the envelope on the raw socket.
    clientErrorHandler: (err, socket) => {
      // With a response already in flight on this socket, writing ours would corrupt the stream.
      const inFlight = (socket as unknown as { _httpMessage?: unknown })._httpMessage;
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || !socket.writable || inFlight) {
        socket.destroy();
        return;
      }
      // A HEAD answer has no body, even one Node could not parse the rest of.
      const raw = (err as unknown as { rawPacket?: Buffer }).rawPacket;
      const known = PARSER_ERRORS[(err as NodeJS.ErrnoException).code ?? ''];
      socket.end(
        rawEnvelope(
          known?.status ?? 400,
          known?.message ?? '请求格式无效',
          raw?.subarray(0, 5).toString('latin1') !== 'HEAD ',
        ),
      );
    },
    // Malformed URLs (bad percent-encoding) are answered before any hook runs: give them the envelope too.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id).headers(SECURITY_HEADERS);
      sendError(request, reply, new AppError('invalid', { userMessage: '请求地址无效', cause: error }));
    },
    // Client IPs (short-link limits) come from X-Forwarded-For only behind a configured proxy.
    trustProxy:
      typeof deps.config.trustProxy === 'number'
        ? (
            (hops: number) => (_addr: string, hop: number) =>
              hop < hops
          )(deps.config.trustProxy)
        : deps.config.trustProxy,
    ajv: { customOptions: { allErrors: true, coerceTypes: false, removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.server.maxConnections = deps.config.http.maxConnections;
  if (deps.config.http.maxConnectionsPerIp > 0 && deps.config.trustProxy === false) {
    capConnectionsPerIp(app.server, deps.config.http.maxConnectionsPerIp);
  }

  // JSON only: Fastify would otherwise accept text/plain bodies as strings.
  app.removeContentTypeParser('text/plain');
  registerJsonBodyParser(app);

  // A known path asked with another method: 405 and the methods it takes, not "no such API".
  const routes: { pattern: RegExp; method: string }[] = [];
  app.addHook('onRoute', (route) => {
    const source = route.url
      .split('/')
      .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    for (const method of [route.method].flat()) routes.push({ pattern: new RegExp(`^${source}$`), method });
  });

  // While shutting down, answers carry `Connection: close` so keep-alive sockets end with the
  // request in flight instead of holding the close open until the client's idle timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Callback hooks, not async ones: each async hook costs a promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id).headers(SECURITY_HEADERS);
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, never the concrete URL: short-link codes are capabilities.
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    // Checked first so that the log object is not built when the line would be dropped.
    if (deps.logger.isLevelEnabled('info')) {
      request.log.info(
        { method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
        'request',
      );
    }
    done();
  });

  const logFault = faultLog();
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const appErr = toAppError(err);
    if (appErr.kind === 'internal') request.log.error({ err }, 'unexpected error');
    else if (appErr.kind === 'unavailable') logFault(request.log, appErr.message);
    else if (appErr.kind.startsWith('upstream_'))
      request.log.warn({ kind: appErr.kind, detail: appErr.message }, 'upstream failure');
    else if (deps.logger.isLevelEnabled('info'))
      request.log.info({ kind: appErr.kind, detail: appErr.message }, 'request rejected');
    return sendError(request, reply, appErr);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))];
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendError(request, reply, new AppError('method_not_allowed'));
    }
    return sendError(request, reply, new AppError('not_found', { userMessage: '接口不存在' }));
  });

  await app.register(swagger, { openapi: OPENAPI_DOCUMENT });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(healthRoutes(deps));
  if (surface !== 'public') {
    await app.register(metricsRoute(deps.metrics));
    await app.register(consoleApi(deps));
    await app.register(consolePages());
  }
  if (surface === 'admin') return app;
  await app.register(faceStartRoute(deps));
  await app.register(faceQueryRoute(deps));
  await app.register(faceListRoute(deps));
  await app.register(notifyEndpointRoutes(deps));
  await app.register(personEraseRoute(deps));
  await app.register(shortLinkRoute(deps));
  await app.register(resultPageRoute(deps));
  if (deps.provider.name === 'sandbox') await app.register(sandboxH5Route(deps));
  if (deps.provider.name === 'esign') await app.register(esignCallbackRoute(deps));
  return app;
}
