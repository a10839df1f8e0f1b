import { AppError } from '../../errors.js';
import * as clientStore from '../../store/client-store.js';
import type { ClientRow } from '../../store/schema.js';
import type { AuditActor } from '../audit.js';
import { createClient, rotateWebhookSecret, updateClientNotifyUrl } from '../clients/admin.js';
import { createToken, listTokens, revokeToken } from '../clients/tokens.js';
import type { ServiceDeps } from '../deps.js';
import { formatBeijing } from '../time.js';

type Deps = Pick<ServiceDeps, 'store' | 'cipher' | 'now' | 'config'>;
type Actor = AuditActor;
const time = (ms: number | null) => (ms === null ? null : formatBeijing(ms));
const DAY_MS = 86_400_000;

async function clientById(deps: Pick<ServiceDeps, 'store'>, clientId: string): Promise<ClientRow> {
  const client = await clientStore.findClientById(deps.store.db, clientId);
  if (!client) throw new AppError('not_found', { userMessage: '客户端不存在' });
  return client;
}

async function clientView(deps: Pick<ServiceDeps, 'store' | 'now'>, c: ClientRow) {
  const usage = (await clientStore.tokenUsageByClient(deps.store.db, deps.now())).get(c.id);
  return view(c, usage);
}

function view(c: ClientRow, usage: { active: number; lastUsedAt: number | null } | undefined) {
  return {
    clientId: c.id,
    name: c.name,
    sysIds: c.sys_ids.split(','),
    notifyUrl: c.notify_url,
    notifyDisabled: c.notify_disabled_at !== null,
    hasWebhookSecret: c.webhook_secret_enc !== null,
    activeTokens: usage?.active ?? 0,
    lastUsedAt: time(usage?.lastUsedAt ?? null),
    createdAt: formatBeijing(c.created_at),
  };
}

export async function listClientsForConsole(deps: Pick<ServiceDeps, 'store' | 'now'>) {
  const [rows, usage] = await Promise.all([
    clientStore.listClients(deps.store.db),
    clientStore.tokenUsageByClient(deps.store.db, deps.now()),
  ]);
  return { items: rows.map((c) => view(c, usage.get(c.id))) };
}

/** A client error from the shared client services, as a field error the console can show. */
const FIELD_MESSAGES: Record<string, string> = {
  name: '名称须为1–64个字母、数字或 _ . -，以字母或数字开头',
  notifyUrl: '通知地址无效：须为 http(s) 地址，且不能指向内网或本机',
};

function asFieldError(err: unknown, field: 'name' | 'notifyUrl'): never {
  if (err instanceof AppError && err.kind === 'invalid' && err.data === null) {
    throw new AppError('invalid', {
      data: { errors: [{ field, code: 'INVALID', message: FIELD_MESSAGES[field] }] },
      detail: err.message,
    });
  }
  if (err instanceof AppError && err.kind === 'conflict')
    throw new AppError('conflict', { userMessage: '客户端名称已存在' });
  throw err;
}

export async function createClientFromConsole(
  deps: Deps,
  actor: Actor,
  input: { name: string; notifyUrl?: string },
) {
  const created = await createClient(
    deps,
    input.name,
    input.notifyUrl === undefined ? {} : { notifyUrl: input.notifyUrl },
    actor,
  ).catch((err) => asFieldError(err, input.notifyUrl === undefined ? 'name' : 'notifyUrl'));
  const row = await clientById(deps, created.id);
  return { client: await clientView(deps, row), webhookSecret: created.webhookSecret ?? null };
}

export async function setNotifyUrlFromConsole(deps: Deps, actor: Actor, clientId: string, notifyUrl: string) {
  const client = await clientById(deps, clientId);
  const updated = await updateClientNotifyUrl(deps, client.name, notifyUrl, actor).catch((err) =>
    asFieldError(err, 'notifyUrl'),
  );
  return {
    client: await clientView(deps, await clientById(deps, clientId)),
    webhookSecret: updated.webhookSecret ?? null,
  };
}

export async function rotateSecretFromConsole(deps: Deps, actor: Actor, clientId: string) {
  const client = await clientById(deps, clientId);
  const rotated = await rotateWebhookSecret(deps, client.name, actor);
  return { webhookSecret: rotated.webhookSecret, previousValidUntil: time(rotated.previousSecretValidUntil) };
}

type TokenListRow = Awaited<ReturnType<typeof listTokens>>[number];

async function tokenViews(deps: Pick<ServiceDeps, 'store' | 'now' | 'cipher'>) {
  const [rows, all] = await Promise.all([listTokens(deps), clientStore.listClients(deps.store.db)]);
  const ids = new Map(all.map((c) => [c.name, c.id]));
  return rows.map((t: TokenListRow) => ({
    tokenId: t.id,
    prefix: t.prefix,
    clientId: ids.get(t.client) ?? '',
    clientName: t.client,
    createdAt: formatBeijing(t.created_at),
    expiresAt: time(t.expires_at),
    revokedAt: time(t.revoked_at),
    lastUsedAt: time(t.last_used_at),
  }));
}

export async function listTokensForConsole(
  deps: Pick<ServiceDeps, 'store' | 'now' | 'cipher'>,
  clientId?: string,
) {
  const items = await tokenViews(deps);
  return { items: clientId === undefined ? items : items.filter((t) => t.clientId === clientId) };
}

/** Creates a token; its value is returned once and only its digest is kept. */
export async function createTokenFromConsole(
  deps: Deps,
  actor: Actor,
  input: { clientId: string; ttlDays?: number },
) {
  const client = await clientById(deps, input.clientId);
  const created = await createToken(
    deps,
    client.name,
    input.ttlDays === undefined ? null : input.ttlDays * DAY_MS,
    actor,
  );
  const token = (await tokenViews(deps)).find((t) => t.tokenId === created.id);
  if (!token) throw new AppError('internal', { detail: 'created token vanished' });
  return { token, value: created.token };
}

export async function revokeTokenFromConsole(deps: Deps, actor: Actor, tokenId: string) {
  const before = (await tokenViews(deps)).find((t) => t.tokenId === tokenId);
  if (!before) throw new AppError('not_found', { userMessage: '令牌不存在' });
  if (before.revokedAt === null) await revokeToken(deps, tokenId, actor);
  const token = (await tokenViews(deps)).find((t) => t.tokenId === tokenId);
  if (!token) throw new AppError('internal', { detail: 'revoked token vanished' });
  return token;
}
