import type { FastifyInstance } from 'fastify';
import {
  createClientFromConsole,
  listClientsForConsole,
  rotateSecretFromConsole,
  setNotifyUrlFromConsole,
} from '../../services/console/client-admin.js';
import type { ServiceDeps } from '../../services/deps.js';
import { type BodyOf, type ParamsOf, ROUTES } from './contract.js';
import { actorOf, consoleRoute } from './guard.js';

/** Clients: list, create, set the notify URL, rotate the webhook secret. */
export function clientRoutes(app: FastifyInstance, deps: ServiceDeps): void {
  consoleRoute(app, deps, 'listClients', ROUTES.listClients, () => listClientsForConsole(deps));
  consoleRoute(app, deps, 'createClient', ROUTES.createClient, (request) =>
    createClientFromConsole(deps, actorOf(request), request.body as BodyOf<'createClient'>),
  );
  consoleRoute(app, deps, 'setNotifyUrl', ROUTES.setNotifyUrl, (request) =>
    setNotifyUrlFromConsole(
      deps,
      actorOf(request),
      (request.params as ParamsOf<'setNotifyUrl'>).clientId,
      (request.body as BodyOf<'setNotifyUrl'>).notifyUrl,
    ),
  );
  consoleRoute(app, deps, 'rotateSecret', ROUTES.rotateSecret, (request) =>
    rotateSecretFromConsole(deps, actorOf(request), (request.params as ParamsOf<'rotateSecret'>).clientId),
  );
}
