import type { Executor } from './db.js';
import type { ClientRow, ClientsTable, TokenRow } from './schema.js';

export async function insertClient(ex: Executor, row: ClientsTable): Promise<void> {
  await ex.insertInto('clients').values(row).execute();
}

export function findClientByName(ex: Executor, name: string): Promise<ClientRow | undefined> {
  return ex.selectFrom('clients').selectAll().where('name', '=', name).executeTakeFirst();
}

export function listClients(ex: Executor): Promise<ClientRow[]> {
  return ex.selectFrom('clients').selectAll().orderBy('created_at').orderBy('name').execute();
}

export async function countClients(ex: Executor): Promise<number> {
  const row = await ex
    .selectFrom('clients')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function insertToken(ex: Executor, row: TokenRow): Promise<void> {
  await ex.insertInto('tokens').values(row).execute();
}

export function findTokenWithClient(ex: Executor, tokenHash: string) {
  return ex
    .selectFrom('tokens')
    .innerJoin('clients', 'clients.id', 'tokens.client_id')
    .select([
      'tokens.id as token_id',
      'tokens.expires_at',
      'tokens.revoked_at',
      'tokens.last_used_at',
      'clients.id as client_id',
      'clients.name as client_name',
      'clients.sys_ids',
    ])
    .where('tokens.token_hash', '=', tokenHash)
    .executeTakeFirst();
}

export function listTokens(ex: Executor) {
  return ex
    .selectFrom('tokens')
    .innerJoin('clients', 'clients.id', 'tokens.client_id')
    .select([
      'tokens.id',
      'tokens.prefix',
      'clients.name as client',
      'tokens.created_at',
      'tokens.expires_at',
      'tokens.revoked_at',
      'tokens.last_used_at',
    ])
    .orderBy('tokens.created_at')
    .execute();
}

export async function revokeToken(ex: Executor, id: string, at: number): Promise<boolean> {
  const res = await ex
    .updateTable('tokens')
    .set({ revoked_at: at })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function touchToken(ex: Executor, id: string, at: number): Promise<void> {
  await ex.updateTable('tokens').set({ last_used_at: at }).where('id', '=', id).execute();
}

export function findClientById(ex: Executor, id: string): Promise<ClientRow | undefined> {
  return ex.selectFrom('clients').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface ClientNotifyUpdate {
  notify_url?: string | null;
  webhook_secret_enc?: string | null;
  webhook_secret_prev_enc?: string | null;
  webhook_secret_prev_until?: number | null;
  notify_disabled_at?: number | null;
}

export async function updateClientNotify(ex: Executor, id: string, set: ClientNotifyUpdate): Promise<void> {
  await ex.updateTable('clients').set(set).where('id', '=', id).execute();
}

/** Stops notifications to a client whose endpoint said 410 Gone; false when it already was. */
export async function disableNotify(ex: Executor, id: string, at: number): Promise<boolean> {
  const res = await ex
    .updateTable('clients')
    .set({ notify_disabled_at: at })
    .where('id', '=', id)
    .where('notify_disabled_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Per client: tokens neither revoked nor expired, and the latest use of any of its tokens. */
export async function tokenUsageByClient(ex: Executor, now: number) {
  const rows = await ex
    .selectFrom('tokens')
    .select((eb) => [
      'client_id',
      eb.fn
        .sum<number | string>(
          eb
            .case()
            .when(
              eb.and([
                eb('revoked_at', 'is', null),
                eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]),
              ]),
            )
            .then(1)
            .else(0)
            .end(),
        )
        .as('active'),
      eb.fn.max('last_used_at').as('last_used_at'),
    ])
    .groupBy('client_id')
    .execute();
  return new Map(
    rows.map((r) => [
      r.client_id,
      { active: Number(r.active), lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at) },
    ]),
  );
}
