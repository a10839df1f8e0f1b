import type { FastifyRequest } from 'fastify';
import { type AuthenticatedClient, authenticate } from '../services/clients/auth.js';
import type { ServiceDeps } from '../services/deps.js';

declare module 'fastify' {
  interface FastifyRequest {
    client: AuthenticatedClient;
  }
}

/** OpenAPI security entries for the two headers every client call carries. */
export const CLIENT_SECURITY = [{ etcToken: [], etcSysId: [] }];

const header = (request: FastifyRequest, name: string): string | undefined => {
  const v = request.headers[name];
  return typeof v === 'string' ? v : undefined;
};

/**
 * An `onRequest` hook: it runs before the body is read, so a caller without a valid token learns
 * nothing about body handling (size, content type, validation).
 */
export const requireClient = (deps: ServiceDeps) => async (request: FastifyRequest) => {
  request.client = await authenticate(deps, header(request, 'etc-token'), header(request, 'etc-sys-id'));
};
