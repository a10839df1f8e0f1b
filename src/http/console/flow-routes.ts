import type { FastifyInstance } from 'fastify';
import { getFlowDetail, revealFlow, searchFlows } from '../../services/console/flow-inspection.js';
import type { ServiceDeps } from '../../services/deps.js';
import { type BodyOf, type ParamsOf, ROUTES } from './contract.js';
import { actorOf, consoleRoute } from './guard.js';

/** Search flows, one flow's story, and the audited reveal of its personal data. */
export function flowRoutes(app: FastifyInstance, deps: ServiceDeps): void {
  // A POST body, so ID numbers and mobiles never sit in a URL.
  consoleRoute(app, deps, 'searchFlows', ROUTES.searchFlows, (request) => {
    const { limit, ...filters } = request.body as BodyOf<'searchFlows'>;
    const query = limit === undefined ? filters : { ...filters, limit: String(limit) };
    return searchFlows(deps, actorOf(request), query, request.id);
  });
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
