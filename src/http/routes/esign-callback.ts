import type { FastifyPluginAsync } from 'fastify';
import type { ServiceDeps } from '../../services/deps.js';
import { handleProviderCallback } from '../../services/flows/callbacks.js';

/** What e签宝 expects back from a notify URL. */
const ACK = { code: '200', msg: 'success' };

export const esignCallbackRoute =
  (deps: ServiceDeps): FastifyPluginAsync =>
  async (app) => {
    // The signature covers the exact bytes, so this route keeps the body raw whatever its type.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

    app.get('/esign/callbacks/esign', { schema: { hide: true } }, async () => ACK);
    app.post<{ Querystring: Record<string, string> }>(
      '/esign/callbacks/esign',
      { schema: { hide: true } },
      async (request) => {
        await handleProviderCallback(deps, {
          headers: request.headers,
          rawBody: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
          query: request.query ?? {},
        });
        return ACK;
      },
    );
  };
