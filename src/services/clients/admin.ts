import { randomUUID } from 'node:crypto';
import { AppError } from '../../errors.js';
import { checkNotifyUrl } from '../../notify/address-policy.js';
import { generateWebhookSecret } from '../../notify/signing.js';
import * as clientStore from '../../store/client-store.js';
import { isUniqueViolation } from '../../store/db.js';
import type { ClientRow } from '../../store/schema.js';
import { type AuditActor, recordAudit, SYSTEM_ACTOR } from '../audit.js';
import type { ServiceDeps } from '../deps.js';
import { SYS_ID } from './auth.js';

type Deps = Pick<ServiceDeps, 'store' | 'now'>;
const NOTIFY_URL_MESSAGE = '通知地址不可用：须为可解析到公网地址的 https URL，且不含用户名和密码';
/** Creating and configuring clients also checks notify URLs and encrypts webhook secrets. */
export type ConfigDeps = Pick<ServiceDeps, 'store' | 'now' | 'cipher' | 'config'>;

/**
 * Creates a client. With a notify URL it also gets a webhook secret, returned here once (as
 * `webhookSecret`) and stored only encrypted.
 */
export async function createClient(
  deps: ConfigDeps,
  name: string,
  opts: { notifyUrl?: string } = {},
  actor: AuditActor = SYSTEM_ACTOR,
) {
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
    await clientStore.insertClient(deps.store.db, row);
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('conflict', { detail: `client "${name}" already exists` });
    throw err;
  }
  await recordAudit(deps, { actor, action: 'client.create', clientId: row.id, target: name });
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
export async function updateClientNotifyUrl(
  deps: ConfigDeps,
  name: string,
  notifyUrl: string,
  actor: AuditActor = SYSTEM_ACTOR,
) {
  const client = await clientStore.findClientByName(deps.store.db, name);
  if (!client) throw new AppError('not_found', { detail: `no client named "${name}"` });
  return setNotifyUrl(deps, client, notifyUrl, actor);
}

/** `updateClientNotifyUrl` for a client already at hand (the self-service endpoint has its id). */
export async function setNotifyUrl(
  deps: ConfigDeps,
  client: ClientRow,
  notifyUrl: string,
  actor: AuditActor = SYSTEM_ACTOR,
) {
  const name = client.name;
  const url = await validNotifyUrl(deps, notifyUrl);
  const secret = client.webhook_secret_enc === null ? generateWebhookSecret() : null;
  await clientStore.updateClientNotify(deps.store.db, client.id, {
    notify_url: url,
    notify_disabled_at: null,
    ...(secret === null ? {} : { webhook_secret_enc: deps.cipher.encrypt(secret) }),
  });
  await recordAudit(deps, {
    actor,
    action: 'client.update',
    clientId: client.id,
    target: name,
    detail: { notifyUrlChanged: true, webhookSecretCreated: secret !== null },
  });
  return { id: client.id, name, notifyUrl: url, ...(secret === null ? {} : { webhookSecret: secret }) };
}

/**
 * Replaces a client's webhook secret. The old one keeps signing beside the new one (two signatures
 * in `webhook-signature`) for WEBHOOK_SECRET_GRACE_HOURS, so the client can switch without losing
 * a notification.
 */
export async function rotateWebhookSecret(deps: ConfigDeps, name: string, actor: AuditActor = SYSTEM_ACTOR) {
  const client = await clientStore.findClientByName(deps.store.db, name);
  if (!client) throw new AppError('not_found', { detail: `no client named "${name}"` });
  const secret = generateWebhookSecret();
  const now = deps.now();
  const graceUntil = client.webhook_secret_enc === null ? null : now + deps.config.notify.secretGraceMs;
  await clientStore.updateClientNotify(deps.store.db, client.id, {
    webhook_secret_enc: deps.cipher.encrypt(secret),
    webhook_secret_prev_enc: graceUntil === null ? null : client.webhook_secret_enc,
    webhook_secret_prev_until: graceUntil,
  });
  await recordAudit(deps, { actor, action: 'client.rotate-secret', clientId: client.id, target: name });
  return { id: client.id, name, webhookSecret: secret, previousSecretValidUntil: graceUntil };
}

async function validNotifyUrl(deps: Pick<ServiceDeps, 'config'>, url: string): Promise<string> {
  const checked = await checkNotifyUrl(url, deps.config.notify.allowPrivateNetworks);
  if (!checked.ok) {
    // The two refusals that development setups meet first; the setting that lifts them is named.
    const lifted = !deps.config.notify.allowPrivateNetworks && /https|public/.test(checked.reason);
    throw new AppError('invalid', {
      detail: `notify URL ${checked.reason}${
        lifted
          ? '\nFor local development, NOTIFY_ALLOW_PRIVATE_NETWORKS=true allows http:// and private addresses.'
          : ''
      }`,
      data: { errors: [{ field: 'url', code: 'NOTIFY_URL', message: NOTIFY_URL_MESSAGE }] },
    });
  }
  return checked.url;
}

export async function listClients(deps: Deps) {
  const rows = await clientStore.listClients(deps.store.db);
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    sysIds: r.sys_ids.split(','),
    notifyUrl: r.notify_url,
    notifyDisabledAt: r.notify_disabled_at,
    createdAt: r.created_at,
  }));
}
