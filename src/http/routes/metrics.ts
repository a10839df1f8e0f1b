import type { FastifyPluginAsync } from 'fastify';
import type { Metrics } from '../../metrics.js';

/** Prometheus exposition; scrape it from inside the network, it is not meant for clients. */
export const metricsRoute =
  (metrics: Metrics): FastifyPluginAsync =>
  async (app) => {
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
    );
  };
