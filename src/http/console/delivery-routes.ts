import type { FastifyInstance } from 'fastify';
import {
  listFailingDeliveries,
  redeliverClientFromConsole,
  redeliverFromConsole,
} from '../../services/console/delivery-admin.js';
import type { ServiceDeps } from '../../services/deps.js';
import { type BodyOf, type ParamsOf, type QueryOf, ROUTES } from './contract.js';
import { actorOf, consoleRoute } from './guard.js';

/** Failing and dead deliveries; redeliver one, or all of a client's. */
export function deliveryRoutes(app: FastifyInstance, deps: ServiceDeps): void {
  consoleRoute(app, deps, 'listDeliveries', ROUTES.listDeliveries, (request) =>
    listFailingDeliveries(deps, request.query as QueryOf<'listDeliveries'>),
  );
  consoleRoute(app, deps, 'redeliver', ROUTES.redeliver, (request) =>
    redeliverFromConsole(
      deps,
      actorOf(request),
      (request.params as ParamsOf<'redeliver'>).deliveryId,
      request.id,
    ),
  );
  consoleRoute(app, deps, 'redeliverClient', ROUTES.redeliverClient, (request) =>
    redeliverClientFromConsole(
      deps,
      actorOf(request),
      (request.body as BodyOf<'redeliverClient'>).clientId,
      request.id,
    ),
  );
}
