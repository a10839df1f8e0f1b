import type { FastifyInstance } from 'fastify';
import { listOperatorAudit } from '../../services/console/operator-audit.js';
import type { ServiceDeps } from '../../services/deps.js';
import { type QueryOf, ROUTES } from './contract.js';
import { consoleRoute } from './guard.js';

export function auditRoute(app: FastifyInstance, deps: ServiceDeps): void {
  consoleRoute(app, deps, 'listAudit', ROUTES.listAudit, (request) =>
    listOperatorAudit(deps, request.query as QueryOf<'listAudit'>),
  );
}
