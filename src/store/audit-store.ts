import type { Executor } from './db.js';
import { columns, precompile } from './precompiled.js';
import type { AuditChainRow, AuditEventRow, AuditEventsTable } from './schema.js';

// Every audited read appends a row: the three statements of an append are compiled once.
const bumpHead = precompile((ex, _p: Record<string, never>) =>
  ex
    .updateTable('audit_chain')
    .set((eb) => ({ last_seq: eb('last_seq', '+', 1) }))
    .where('id', '=', 1)
    .returningAll(),
);
const setHead = precompile((ex, p: Omit<AuditChainRow, 'id'> & Record<string, unknown>) =>
  ex
    .updateTable('audit_chain')
    .set({
      base_seq: p.base_seq,
      base_digest: p.base_digest,
      last_seq: p.last_seq,
      last_digest: p.last_digest,
      key_id: p.key_id,
      mac: p.mac,
    })
    .where('id', '=', 1),
);
const insertEvent = precompile(
  (ex, p: AuditEventsTable & Record<string, unknown>) => ex.insertInto('audit_events').values(p),
  columns,
);

/**
 * Takes the next sequence number. The UPDATE comes first on purpose: it locks the head row on
 * PostgreSQL and takes SQLite's write lock, so the read of the previous digest below cannot be
 * stale, and appends from every process are ordered one after another until the commit.
 */
export async function claimNextSeq(ex: Executor): Promise<AuditChainRow> {
  const head = (await bumpHead(ex, {})).rows[0];
  if (!head) throw new Error('audit_chain head row is missing');
  return head;
}

/** Locks the head row without changing it (pruning and re-signing hold it while they work). */
export async function lockHead(ex: Executor): Promise<AuditChainRow> {
  const head = await ex
    .updateTable('audit_chain')
    .set((eb) => ({ last_seq: eb.ref('last_seq') }))
    .where('id', '=', 1)
    .returningAll()
    .executeTakeFirst();
  if (!head) throw new Error('audit_chain head row is missing');
  return head;
}

export async function readHead(ex: Executor): Promise<AuditChainRow> {
  const head = await ex.selectFrom('audit_chain').selectAll().where('id', '=', 1).executeTakeFirst();
  if (!head) throw new Error('audit_chain head row is missing');
  return head;
}

export async function writeHead(ex: Executor, head: Omit<AuditChainRow, 'id'>): Promise<void> {
  await setHead(ex, { ...head });
}

export async function insertAuditEvent(ex: Executor, row: AuditEventsTable): Promise<void> {
  await insertEvent(ex, { ...row });
}

/** Rows in chain order after `afterSeq`, for verification and re-signing. */
export function auditEventsAfter(ex: Executor, afterSeq: number, limit: number): Promise<AuditEventRow[]> {
  return ex
    .selectFrom('audit_events')
    .selectAll()
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
}

export function auditEventAt(ex: Executor, seq: number): Promise<AuditEventRow | undefined> {
  return ex.selectFrom('audit_events').selectAll().where('seq', '=', seq).executeTakeFirst();
}

export interface AuditFilter {
  flowId?: string;
  personId?: string;
  clientId?: string;
  actions?: string[];
  actorKind?: string;
  actor?: string;
  since?: number;
  until?: number;
  /** Cursor: only rows older than this sequence number. */
  beforeSeq?: number;
  /** Events about this object: a flow, client, person or other target id. */
  subject?: string;
  limit: number;
}

/** Newest first. */
export function listAuditEvents(ex: Executor, f: AuditFilter): Promise<AuditEventRow[]> {
  let q = ex.selectFrom('audit_events').selectAll();
  if (f.flowId !== undefined) q = q.where('flow_id', '=', f.flowId);
  if (f.personId !== undefined) q = q.where('person_id', '=', f.personId);
  if (f.clientId !== undefined) q = q.where('client_id', '=', f.clientId);
  if (f.actions !== undefined && f.actions.length > 0) q = q.where('action', 'in', f.actions);
  if (f.actorKind !== undefined) q = q.where('actor_kind', '=', f.actorKind as AuditEventRow['actor_kind']);
  if (f.actor !== undefined) q = q.where('actor', '=', f.actor);
  if (f.since !== undefined) q = q.where('at', '>=', f.since);
  if (f.until !== undefined) q = q.where('at', '<', f.until);
  if (f.beforeSeq !== undefined) q = q.where('seq', '<', f.beforeSeq);
  const subject = f.subject;
  if (subject !== undefined) {
    q = q.where((eb) =>
      eb.or([
        eb('flow_id', '=', subject),
        eb('client_id', '=', subject),
        eb('person_id', '=', subject),
        eb('target', '=', subject),
      ]),
    );
  }
  return q.orderBy('seq', 'desc').limit(f.limit).execute();
}

export async function deleteAuditEventsThrough(ex: Executor, seq: number): Promise<number> {
  const res = await ex.deleteFrom('audit_events').where('seq', '<=', seq).executeTakeFirst();
  return Number(res.numDeletedRows);
}

export async function updateAuditSignature(
  ex: Executor,
  seq: number,
  from: { keyId: string; mac: string },
  to: { keyId: string; mac: string },
): Promise<boolean> {
  const res = await ex
    .updateTable('audit_events')
    .set({ key_id: to.keyId, mac: to.mac })
    .where('seq', '=', seq)
    .where('key_id', '=', from.keyId)
    .where('mac', '=', from.mac)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function countAuditEventsByKey(ex: Executor): Promise<{ keyId: string; rows: number }[]> {
  const rows = await ex
    .selectFrom('audit_events')
    .select((eb) => ['key_id', eb.fn.countAll<number | string>().as('n')])
    .groupBy('key_id')
    .execute();
  return rows.map((r) => ({ keyId: r.key_id, rows: Number(r.n) }));
}

/** Rows signed with another key than `keyId`, in chain order after `afterSeq` (re-signing walks them). */
export function auditEventsNotSignedWith(
  ex: Executor,
  keyId: string,
  afterSeq: number,
  limit: number,
): Promise<AuditEventRow[]> {
  return ex
    .selectFrom('audit_events')
    .selectAll()
    .where('key_id', '!=', keyId)
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
}
