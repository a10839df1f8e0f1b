import type { FastifyInstance } from 'fastify';
import {
  createTokenFromConsole,
  listTokensForConsole,
  revokeTokenFromConsole,
} from '../../services/console/client-admin.js';
import type { ServiceDeps } from '../../services/deps.js';
import { type BodyOf, type ParamsOf, type QueryOf, ROUTES } from './contract.js';
import { actorOf, consoleRoute } from './guard.js';

/** Access tokens: list, create (shown once), revoke. */
export function tokenRoutes(app: FastifyInstance, deps: ServiceDeps): void {
  consoleRoute(app, deps, 'listTokens', ROUTES.listTokens, (request) =>
    listTokensForConsole(deps, (request.query as QueryOf<'listTokens'>).clientId),
  );
  consoleRoute(app, deps, 'createToken', ROUTES.createToken, (request) =>
    createTokenFromConsole(deps, actorOf(request), request.body as BodyOf<'createToken'>),
  );
  consoleRoute(app, deps, 'revokeToken', ROUTES.revokeToken, (request) =>
    revokeTokenFromConsole(deps, actorOf(request), (request.params as ParamsOf<'revokeToken'>).tokenId),
  );
}
