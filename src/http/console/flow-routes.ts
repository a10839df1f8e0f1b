import type { FastifyInstance } from 'fastify';
import { getFlowDetail, revealFlow, searchFlows } from '../../services/console/flow-inspection.js';
import type { ServiceDeps } from '../../services/deps.js';
import { type BodyOf, type ParamsOf, type QueryOf, ROUTES } from './contract.js';
import { actorOf, consoleRoute } from './guard.js';

/** Search flows, one flow's story, and the audited reveal of its personal data. */
export function flowRoutes(app: FastifyInstance, deps: ServiceDeps): void {
  consoleRoute(app, deps, 'searchFlows', ROUTES.searchFlows, (request) =>
    searchFlows(deps, actorOf(request), request.query as QueryOf<'searchFlows'>, request.id),
  );
  consoleRoute(app, deps, 'flowDetail', ROUTES.flowDetail, (request) =>
    getFlowDetail(deps, actorOf(request), (request.params as ParamsOf<'flowDetail'>).flowId, request.id),
  );
  consoleRoute(app, deps, 'reveal', ROUTES.reveal, (request) =>
    revealFlow(
      deps,
      actorOf(request),
      (request.params as ParamsOf<'reveal'>).flowId,
      (request.body as BodyOf<'reveal'>).reason,
      request.id,
    ),
  );
}
