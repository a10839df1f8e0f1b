import { parseDuration } from '../../config.js';
import { randomBase62 } from '../../crypto/random.js';
import { secretDigest } from '../../crypto/secret-digest.js';
import { AppError } from '../../errors.js';
import * as clientStore from '../../store/client-store.js';
import { type AuditActor, recordAudit, SYSTEM_ACTOR } from '../audit.js';
import type { ServiceDeps } from '../deps.js';

export const TOKEN_LENGTH = 32;
/** Shown by `token list` to tell tokens apart: 62^4 values, too few to help a guesser. */
const TOKEN_PREFIX_LENGTH = 4;

type Deps = Pick<ServiceDeps, 'store' | 'now' | 'cipher'>;

/** Creates a token for a client; the raw token is returned once and only its digest is kept. */
export async function createToken(
  deps: Deps,
  clientName: string,
  ttlMs: number | null,
  actor: AuditActor = SYSTEM_ACTOR,
) {
  const client = await clientStore.findClientByName(deps.store.db, clientName);
  if (!client) throw new AppError('not_found', { detail: `no client named "${clientName}"` });
  const token = randomBase62(TOKEN_LENGTH);
  const now = deps.now();
  const row = {
    id: `tok_${randomBase62(12)}`,
    client_id: client.id,
    token_hash: secretDigest(token),
    prefix: token.slice(0, TOKEN_PREFIX_LENGTH),
    created_at: now,
    expires_at: ttlMs === null ? null : now + ttlMs,
    revoked_at: null,
    last_used_at: null,
  };
  await clientStore.insertToken(deps.store.db, row);
  await recordAudit(deps, { actor, action: 'token.create', clientId: client.id, target: row.id });
  return { id: row.id, token, prefix: row.prefix, client: client.name, expiresAt: row.expires_at };
}

export async function listTokens(deps: Deps) {
  return clientStore.listTokens(deps.store.db);
}

export async function revokeToken(
  deps: Deps & Partial<Pick<ServiceDeps, 'tokenCache'>>,
  id: string,
  actor: AuditActor = SYSTEM_ACTOR,
): Promise<void> {
  if (!(await clientStore.revokeToken(deps.store.db, id, deps.now()))) {
    throw new AppError('not_found', { detail: `no active token with id "${id}"` });
  }
  // Other processes stop accepting it within TOKEN_CACHE_TTL_MS; this one at once.
  deps.tokenCache?.clear();
  await recordAudit(deps, { actor, action: 'token.revoke', target: id });
}

export function parseTtl(ttl: string): number {
  const ms = parseDuration(ttl);
  if (ms === null || ms === 0)
    throw new AppError('invalid', { detail: 'ttl must look like 90d, 12h, 30m or 45s' });
  return ms;
}
