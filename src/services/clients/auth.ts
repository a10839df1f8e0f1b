import { secretDigest } from '../../crypto/secret-digest.js';
import { AppError } from '../../errors.js';
import * as clientStore from '../../store/client-store.js';
import type { ServiceDeps } from '../deps.js';
import { enforce, SECOND } from '../rate-limits.js';
import { TOKEN_LENGTH } from './tokens.js';

export const SYS_ID = 'E02';
/** last_used_at is bookkeeping, not an audit log: one write a minute per token is plenty. */
const TOUCH_INTERVAL_MS = 60_000;

export interface AuthenticatedClient {
  clientId: string;
  clientName: string;
  tokenId: string;
}

type AuthDeps = Pick<ServiceDeps, 'store' | 'now' | 'config' | 'rateLimiter' | 'logger' | 'tokenCache'>;

/**
 * Checks `etc-token` then `etc-sys-id`. Every token failure throws the same error, so a caller
 * cannot tell an unknown token from a revoked or expired one.
 */
export async function authenticate(
  deps: AuthDeps,
  token: string | undefined,
  sysId: string | undefined,
): Promise<AuthenticatedClient> {
  const unauthorized = () => new AppError('unauthorized');
  if (!token || token.length !== TOKEN_LENGTH) throw unauthorized();
  const tokenHash = secretDigest(token);
  const row = await deps.tokenCache.get(tokenHash, () =>
    clientStore.findTokenWithClient(deps.store.db, tokenHash),
  );
  const now = deps.now();
  if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= now))
    throw unauthorized();
  if (!sysId) throw new AppError('forbidden', { userMessage: `缺少请求头 etc-sys-id，应为 ${SYS_ID}` });
  if (!hasSysId(row.sys_ids, sysId)) {
    throw new AppError('forbidden', { userMessage: `请求头 etc-sys-id 取值不允许，应为 ${SYS_ID}` });
  }
  await enforce(deps, `token:${row.token_id}`, deps.config.rateLimits.perToken, SECOND);
  if (row.last_used_at === null || row.last_used_at < now - TOUCH_INTERVAL_MS) {
    // The cached row is shared: marking it first keeps concurrent requests from touching too.
    row.last_used_at = now;
    await clientStore.touchToken(deps.store.db, row.token_id, now);
  }
  return { clientId: row.client_id, clientName: row.client_name, tokenId: row.token_id };
}

/** `sys_ids` is a comma-separated list; checked without splitting it on every request. */
function hasSysId(sysIds: string, sysId: string): boolean {
  if (sysId.includes(',')) return false;
  return sysIds === sysId || `,${sysIds},`.includes(`,${sysId},`);
}
