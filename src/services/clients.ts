import { createHash, randomUUID } from 'node:crypto';
import { parseDuration } from '../config.js';
import { randomBase62 } from '../crypto/random.js';
import { AppError } from '../errors.js';
import { checkNotifyUrl } from '../notify/address-policy.js';
import { generateWebhookSecret } from '../notify/signing.js';
import * as clients from '../store/clients.js';
import { isUniqueViolation } from '../store/db.js';
import type { ClientRow } from '../store/schema.js';
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
/** Creating and configuring clients also checks notify URLs and encrypts webhook secrets. */
type ConfigDeps = Pick<ServiceDeps, 'store' | 'now' | 'cipher' | 'config'>;
type AuthDeps = Pick<ServiceDeps, 'store' | 'now' | 'config' | 'rateLimiter' | 'logger'>;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Creates a client. With a notify URL it also gets a webhook secret, returned here once (as
 * `webhookSecret`) and stored only encrypted.
 */
export async function createClient(deps: ConfigDeps, name: string, opts: { notifyUrl?: string } = {}) {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    throw new AppError('invalid', { detail: 'client name must be 1-64 of [A-Za-z0-9_.-]' });
  }
  const notifyUrl = opts.notifyUrl === undefined ? null : await validNotifyUrl(deps, opts.notifyUrl);
  const secret = notifyUrl === null ? null : generateWebhookSecret();
  const row = {
    id: randomUUID(),
    name,
    sys_ids: SYS_ID,
    notify_url: notifyUrl,
    webhook_secret_enc: secret === null ? null : deps.cipher.encrypt(secret),
    webhook_secret_prev_enc: null,
    webhook_secret_prev_until: null,
    notify_disabled_at: null,
    created_at: deps.now(),
  };
  try {
    await clients.insertClient(deps.store.db, row);
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('conflict', { detail: `client "${name}" already exists` });
    throw err;
  }
  return {
    id: row.id,
    name,
    sysIds: [SYS_ID],
    notifyUrl: row.notify_url,
    createdAt: row.created_at,
    ...(secret === null ? {} : { webhookSecret: secret }),
  };
}

/**
 * Sets a client's notify URL and re-enables an endpoint that a 410 disabled. A client that had no
 * webhook secret gets one, returned here once; an existing secret is kept and not shown again
 * (`client rotate-secret` replaces it).
 */
export async function updateClientNotifyUrl(deps: ConfigDeps, name: string, notifyUrl: string) {
  const client = await clients.findClientByName(deps.store.db, name);
  if (!client) throw new AppError('not_found', { detail: `no client named "${name}"` });
  const url = await validNotifyUrl(deps, notifyUrl);
  const secret = client.webhook_secret_enc === null ? generateWebhookSecret() : null;
  await clients.updateClientNotify(deps.store.db, client.id, {
    notify_url: url,
    notify_disabled_at: null,
    ...(secret === null ? {} : { webhook_secret_enc: deps.cipher.encrypt(secret) }),
  });
  return { id: client.id, name, notifyUrl: url, ...(secret === null ? {} : { webhookSecret: secret }) };
}

/**
 * Replaces a client's webhook secret. The old one keeps signing beside the new one (two signatures
 * in `webhook-signature`) for WEBHOOK_SECRET_GRACE_HOURS, so the client can switch without losing
 * a notification.
 */
export async function rotateWebhookSecret(deps: ConfigDeps, name: string) {
  const client = await clients.findClientByName(deps.store.db, name);
  if (!client) throw new AppError('not_found', { detail: `no client named "${name}"` });
  const secret = generateWebhookSecret();
  const now = deps.now();
  const graceUntil = client.webhook_secret_enc === null ? null : now + deps.config.notify.secretGraceMs;
  await clients.updateClientNotify(deps.store.db, client.id, {
    webhook_secret_enc: deps.cipher.encrypt(secret),
    webhook_secret_prev_enc: graceUntil === null ? null : client.webhook_secret_enc,
    webhook_secret_prev_until: graceUntil,
  });
  return { id: client.id, name, webhookSecret: secret, previousSecretValidUntil: graceUntil };
}

/** The secrets that sign a notification now: the current one, and the previous one in its grace period. */
export function signingSecrets(deps: Pick<ServiceDeps, 'cipher'>, client: ClientRow, now: number): string[] {
  const secrets: string[] = [];
  if (client.webhook_secret_enc) secrets.push(deps.cipher.decrypt(client.webhook_secret_enc));
  if (
    client.webhook_secret_prev_enc &&
    client.webhook_secret_prev_until !== null &&
    client.webhook_secret_prev_until > now
  ) {
    secrets.push(deps.cipher.decrypt(client.webhook_secret_prev_enc));
  }
  return secrets;
}

async function validNotifyUrl(deps: Pick<ServiceDeps, 'config'>, url: string): Promise<string> {
  const checked = await checkNotifyUrl(url, deps.config.notify.allowPrivateNetworks);
  if (!checked.ok) throw new AppError('invalid', { detail: `notify URL ${checked.reason}` });
  return checked.url;
}

export async function listClients(deps: Deps) {
  const rows = await clients.listClients(deps.store.db);
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    sysIds: r.sys_ids.split(','),
    notifyUrl: r.notify_url,
    notifyDisabledAt: r.notify_disabled_at,
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
  const unauthorized = () => new AppError('unauthorized');
  if (!token || token.length !== TOKEN_LENGTH) throw unauthorized();
  const row = await clients.findTokenWithClient(deps.store.db, hashToken(token));
  const now = deps.now();
  if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= now))
    throw unauthorized();
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
export async function ensureDefaultClient(deps: ConfigDeps): Promise<string | null> {
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
