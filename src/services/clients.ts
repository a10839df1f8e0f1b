import { createHash, randomUUID } from 'node:crypto';
import { parseDuration } from '../config.js';
import { randomBase62 } from '../crypto/random.js';
import { AppError } from '../errors.js';
import * as clients from '../store/clients.js';
import { isUniqueViolation } from '../store/db.js';
import type { ServiceDeps } from './deps.js';
import { enforce, SECOND } from './rate-limits.js';

export const SYS_ID = 'E02';
const TOKEN_LENGTH = 32;
/** last_used_at is bookkeeping, not an audit log: one write a minute per token is plenty. */
const TOUCH_INTERVAL_MS = 60_000;

export interface AuthenticatedClient {
  clientId: string;
  clientName: string;
  tokenId: string;
}

type Deps = Pick<ServiceDeps, 'store' | 'now'>;
type AuthDeps = Pick<ServiceDeps, 'store' | 'now' | 'config' | 'rateLimiter' | 'logger'>;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function createClient(deps: Deps, name: string, opts: { notifyUrl?: string } = {}) {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    throw new AppError('invalid', { detail: 'client name must be 1-64 of [A-Za-z0-9_.-]' });
  }
  const row = {
    id: randomUUID(),
    name,
    sys_ids: SYS_ID,
    notify_url: opts.notifyUrl ?? null,
    webhook_secret_enc: null,
    created_at: deps.now(),
  };
  try {
    await clients.insertClient(deps.store.db, row);
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('conflict', { detail: `client "${name}" already exists` });
    throw err;
  }
  return { id: row.id, name, sysIds: [SYS_ID], notifyUrl: row.notify_url, createdAt: row.created_at };
}

export async function listClients(deps: Deps) {
  const rows = await clients.listClients(deps.store.db);
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    sysIds: r.sys_ids.split(','),
    notifyUrl: r.notify_url,
    createdAt: r.created_at,
  }));
}

/** Creates a token for a client; the raw token is returned once and only its digest is kept. */
export async function createToken(deps: Deps, clientName: string, ttlMs: number | null) {
  const client = await clients.findClientByName(deps.store.db, clientName);
  if (!client) throw new AppError('not_found', { detail: `no client named "${clientName}"` });
  const token = randomBase62(TOKEN_LENGTH);
  const now = deps.now();
  const row = {
    id: `tok_${randomBase62(12)}`,
    client_id: client.id,
    token_hash: hashToken(token),
    created_at: now,
    expires_at: ttlMs === null ? null : now + ttlMs,
    revoked_at: null,
    last_used_at: null,
  };
  await clients.insertToken(deps.store.db, row);
  return { id: row.id, token, client: client.name, expiresAt: row.expires_at };
}

export async function listTokens(deps: Deps) {
  return clients.listTokens(deps.store.db);
}

export async function revokeToken(deps: Deps, id: string): Promise<void> {
  if (!(await clients.revokeToken(deps.store.db, id, deps.now()))) {
    throw new AppError('not_found', { detail: `no active token with id "${id}"` });
  }
}

/**
 * Checks `etc-token` then `etc-sys-id`. Every token failure throws the same error, so a caller
 * cannot tell an unknown token from a revoked or expired one.
 */
export async function authenticate(
  deps: AuthDeps,
  token: string | undefined,
  sysId: string | undefined,
): Promise<AuthenticatedClient> {
  const unauthorized = new AppError('unauthorized');
  if (!token || token.length !== TOKEN_LENGTH) throw unauthorized;
  const row = await clients.findTokenWithClient(deps.store.db, hashToken(token));
  const now = deps.now();
  if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= now))
    throw unauthorized;
  if (!sysId || !row.sys_ids.split(',').includes(sysId)) throw new AppError('forbidden');
  await enforce(deps, `token:${row.token_id}`, deps.config.rateLimits.perToken, SECOND);
  if (row.last_used_at === null || row.last_used_at < now - TOUCH_INTERVAL_MS) {
    await clients.touchToken(deps.store.db, row.token_id, now);
  }
  return { clientId: row.client_id, clientName: row.client_name, tokenId: row.token_id };
}

/**
 * First start of the sandbox: with no client at all, create `default` and one token so the
 * README's curl works at once. Returns the token, or null when clients already exist.
 */
export async function ensureDefaultClient(deps: Deps): Promise<string | null> {
  if ((await clients.countClients(deps.store.db)) > 0) return null;
  try {
    await createClient(deps, 'default');
  } catch (err) {
    // Another process bootstrapped at the same moment; it prints the token.
    if (err instanceof AppError && err.kind === 'conflict') return null;
    throw err;
  }
  return (await createToken(deps, 'default', null)).token;
}

export function parseTtl(ttl: string): number {
  const ms = parseDuration(ttl);
  if (ms === null || ms === 0)
    throw new AppError('invalid', { detail: 'ttl must look like 90d, 12h, 30m or 45s' });
  return ms;
}
