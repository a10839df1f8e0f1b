import type { FastifyInstance } from 'fastify';
import { getOverview } from '../../services/console/overview.js';
import type { ServiceDeps } from '../../services/deps.js';
import { type QueryOf, ROUTES } from './contract.js';
import { consoleRoute } from './guard.js';

export function overviewRoute(app: FastifyInstance, deps: ServiceDeps): void {
  consoleRoute(app, deps, 'overview', ROUTES.overview, (request) =>
    getOverview(deps, request.query as QueryOf<'overview'>),
  );
}
