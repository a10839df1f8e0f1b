import { createHash } from 'node:crypto';
import * as auditStore from '../store/audit-store.js';
import type { Executor } from '../store/db.js';
import type { AuditActorKind, AuditChainRow, AuditEventRow } from '../store/schema.js';
import type { ServiceDeps } from './deps.js';

/** Every kind of event the trail records. Add new ones here (the console, for instance). */
export const AUDIT_ACTIONS = [
  // Reads of personal data (masked or not) and reveals of clear values.
  'flow.read',
  'flow.list',
  'flow.reveal',
  'flow.search',
  // Personal data lifecycle.
  'person.erase',
  'person.unblock',
  'retention.run',
  'audit.prune',
  'keys.rotate',
  'keys.reencrypt',
  'keys.retire',
  'keys.rotate-blind-index',
  'keys.reindex',
  'keys.retire-blind-index',
  // Clients, tokens, deliveries and operators.
  'client.create',
  'client.update',
  'client.rotate-secret',
  'token.create',
  'token.revoke',
  'delivery.redeliver',
  'operator.create',
  'operator.disable',
  'operator.reset-password',
  'operator.login',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditActor {
  kind: AuditActorKind;
  /** Client id, operator username, the OS user of a CLI run, or a job's name. */
  id: string;
}

/** What happened; ids only, never a clear personal value. */
export interface AuditEvent {
  actor: AuditActor;
  action: AuditAction;
  clientId?: string;
  flowId?: string;
  personId?: string;
  target?: string;
  /** Why, in the operator's words (required for reveals by the console). */
  reason?: string;
  requestId?: string;
  detail?: Record<string, string | number | boolean | null>;
}

export type AuditDeps = Pick<ServiceDeps, 'store' | 'cipher' | 'now'>;

/** Who acts when a caller does not say (e.g. the first-start bootstrap). */
export const SYSTEM_ACTOR: AuditActor = { kind: 'system', id: 'etc-esign' };

const ROW_PURPOSE = 'audit-chain-row';
const HEAD_PURPOSE = 'audit-chain-head';

type Content = Omit<AuditEventRow, 'key_id' | 'mac'>;

/** The exact bytes a row's MAC and digest cover: every column but the signature, in a fixed order. */
function canonical(r: Content): string {
  return JSON.stringify([
    r.seq,
    r.at,
    r.actor_kind,
    r.actor,
    r.action,
    r.client_id,
    r.flow_id,
    r.person_id,
    r.target,
    r.reason,
    r.request_id,
    r.detail,
  ]);
}

const digestOf = (r: Content) => createHash('sha256').update(canonical(r)).digest('hex');

/**
 * A row's MAC covers its own content and the digest of the row before it (not that row's MAC), so
 * deleting or editing any row breaks the check of that row or of the next one, while each row can
 * still be re-signed on its own when the key it was signed with is rotated out.
 */
function rowMac(deps: Pick<AuditDeps, 'cipher'>, prevDigest: string, r: Content, keyId?: string) {
  return deps.cipher.keyedMac(ROW_PURPOSE, `${prevDigest}\n${canonical(r)}`, keyId);
}

function headMac(
  deps: Pick<AuditDeps, 'cipher'>,
  h: Omit<AuditChainRow, 'id' | 'key_id' | 'mac'>,
  keyId?: string,
) {
  return deps.cipher.keyedMac(
    HEAD_PURPOSE,
    JSON.stringify([h.base_seq, h.base_digest, h.last_seq, h.last_digest]),
    keyId,
  );
}

function signedHead(deps: AuditDeps, h: Omit<AuditChainRow, 'id' | 'key_id' | 'mac'>) {
  const keyId = deps.cipher.activeKeyId;
  return { ...h, key_id: keyId, mac: headMac(deps, h, keyId) as string };
}

async function append(deps: AuditDeps, trx: Executor, e: AuditEvent): Promise<number> {
  const head = await auditStore.claimNextSeq(trx);
  const row: Content = {
    seq: head.last_seq,
    // Taken under the head lock, so times follow the sequence within one clock.
    at: deps.now(),
    actor_kind: e.actor.kind,
    actor: e.actor.id,
    action: e.action,
    client_id: e.clientId ?? null,
    flow_id: e.flowId ?? null,
    person_id: e.personId ?? null,
    target: e.target ?? null,
    reason: e.reason ?? null,
    request_id: e.requestId ?? null,
    detail: e.detail === undefined ? null : JSON.stringify(e.detail),
  };
  const keyId = deps.cipher.activeKeyId;
  await auditStore.insertAuditEvent(trx, {
    ...row,
    key_id: keyId,
    mac: rowMac(deps, head.last_digest, row, keyId) as string,
  });
  await auditStore.writeHead(trx, signedHead(deps, { ...head, last_digest: digestOf(row) }));
  return row.seq;
}

/**
 * Appends one event to the trail. Given an open transaction it writes inside it (the event exists
 * exactly when the change it records does); given nothing, in a transaction of its own. Appends
 * are serialized across processes by the chain head row until the transaction ends, so call it
 * last in a transaction. Returns the event's sequence number.
 */
export async function recordAudit(deps: AuditDeps, event: AuditEvent, trx?: Executor): Promise<number> {
  if (trx?.isTransaction) return append(deps, trx, event);
  return deps.store.db.transaction().execute((t) => append(deps, t, event));
}

export interface AuditEntry {
  seq: number;
  at: number;
  actorKind: AuditActorKind;
  actor: string;
  action: string;
  clientId: string | null;
  flowId: string | null;
  personId: string | null;
  target: string | null;
  reason: string | null;
  requestId: string | null;
  detail: Record<string, unknown> | null;
}

export interface AuditListFilter {
  flowId?: string;
  personId?: string;
  clientId?: string;
  actions?: AuditAction[];
  actorKind?: AuditActorKind;
  actor?: string;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
  /** Events about this object (flow, client, person or target id). */
  subject?: string;
  /** `nextCursor` of the previous page. */
  cursor?: number;
  /** Default 100, at most 1000. */
  limit?: number;
}

/** Newest first; `nextCursor` is set when older entries remain. */
export async function listAudit(
  deps: Pick<AuditDeps, 'store'>,
  f: AuditListFilter = {},
): Promise<{ entries: AuditEntry[]; nextCursor: number | null }> {
  const limit = Math.min(Math.max(f.limit ?? 100, 1), 1000);
  const rows = await auditStore.listAuditEvents(deps.store.db, {
    ...(f.flowId !== undefined ? { flowId: f.flowId } : {}),
    ...(f.personId !== undefined ? { personId: f.personId } : {}),
    ...(f.clientId !== undefined ? { clientId: f.clientId } : {}),
    ...(f.actions !== undefined ? { actions: f.actions } : {}),
    ...(f.actorKind !== undefined ? { actorKind: f.actorKind } : {}),
    ...(f.actor !== undefined ? { actor: f.actor } : {}),
    ...(f.since !== undefined ? { since: f.since } : {}),
    ...(f.until !== undefined ? { until: f.until } : {}),
    ...(f.cursor !== undefined ? { beforeSeq: f.cursor } : {}),
    ...(f.subject !== undefined ? { subject: f.subject } : {}),
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  return {
    entries: page.map((r) => ({
      seq: r.seq,
      at: r.at,
      actorKind: r.actor_kind,
      actor: r.actor,
      action: r.action,
      clientId: r.client_id,
      flowId: r.flow_id,
      personId: r.person_id,
      target: r.target,
      reason: r.reason,
      requestId: r.request_id,
      detail: r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>),
    })),
    nextCursor: rows.length > limit ? (page.at(-1)?.seq ?? null) : null,
  };
}

export type AuditVerdict =
  | { intact: true; rows: number; lastSeq: number; headDigest: string }
  | { intact: false; rows: number; brokenSeq: number; problem: string };

const VERIFY_BATCH = 1000;

/**
 * Walks the trail in order and checks every row's MAC against the row before it, the sequence for
 * gaps, and the head for rows missing at the end. Stops at the first broken row. Runs beside live
 * appends and pruning: it checks up to the head it read first, and a gap that pruning made while
 * it walked is skipped over to the new base.
 *
 * Truncating the trail to empty and resetting the head is not detectable from inside the database;
 * the printed head digest lets an operator anchor it elsewhere.
 */
export async function verifyAudit(deps: AuditDeps): Promise<AuditVerdict> {
  const db = deps.store.db;
  const head = await auditStore.readHead(db);
  const broken = (rows: number, brokenSeq: number, problem: string): AuditVerdict => ({
    intact: false,
    rows,
    brokenSeq,
    problem,
  });
  const genesis = head.key_id === '' && head.last_seq === 0 && head.base_seq === 0;
  if (!genesis) {
    const mac = headMac(deps, head, head.key_id);
    if (mac === null)
      return broken(0, head.last_seq, `head is signed with key ${head.key_id}, which is not loaded`);
    if (mac !== head.mac) return broken(0, head.last_seq, 'head of the trail was edited');
  }
  let prevSeq = head.base_seq;
  let prevDigest = head.base_digest;
  let rows = 0;
  while (prevSeq < head.last_seq) {
    const batch = await auditStore.auditEventsAfter(db, prevSeq, VERIFY_BATCH);
    const first = batch[0];
    if (first?.seq !== prevSeq + 1) {
      // A gap. Pruning since we read the head explains it when the base moved past it.
      const now = await auditStore.readHead(db);
      if (now.base_seq > prevSeq) {
        prevSeq = now.base_seq;
        prevDigest = now.base_digest;
        continue;
      }
      return first
        ? broken(rows, prevSeq + 1, `row ${prevSeq + 1} is missing`)
        : broken(rows, prevSeq + 1, `rows ${prevSeq + 1} to ${head.last_seq} are missing`);
    }
    for (const r of batch) {
      if (r.seq !== prevSeq + 1 || r.seq > head.last_seq) break;
      const mac = rowMac(deps, prevDigest, r, r.key_id);
      if (mac === null)
        return broken(rows, r.seq, `row ${r.seq} is signed with key ${r.key_id}, which is not loaded`);
      if (mac !== r.mac) return broken(rows, r.seq, `row ${r.seq} was edited, or the row before it was`);
      prevSeq = r.seq;
      prevDigest = digestOf(r);
      rows++;
    }
  }
  if (prevDigest !== head.last_digest) {
    return broken(rows, head.last_seq, `row ${head.last_seq} does not match the head of the trail`);
  }
  return { intact: true, rows, lastSeq: head.last_seq, headDigest: head.last_digest };
}

const PRUNE_BATCH = 500;

/**
 * Deletes events older than `before` from the bottom of the trail, a batch per short transaction.
 * The head's base moves to the newest deleted row, so the rest still verifies. A pruned row is
 * checked first: evidence of tampering is never deleted quietly. Records one `audit.prune` event.
 */
export async function pruneAudit(deps: AuditDeps, before: number, actor: AuditActor): Promise<number> {
  let pruned = 0;
  for (;;) {
    const n = await deps.store.db.transaction().execute(async (trx) => {
      const head = await auditStore.lockHead(trx);
      const rows = (await auditStore.auditEventsAfter(trx, head.base_seq, PRUNE_BATCH)).filter(
        (r) => r.at < before,
      );
      let prevSeq = head.base_seq;
      let prevDigest = head.base_digest;
      const take: AuditEventRow[] = [];
      for (const r of rows) {
        if (r.seq !== prevSeq + 1) break;
        if (rowMac(deps, prevDigest, r, r.key_id) !== r.mac) {
          throw new Error(`audit row ${r.seq} fails its check; run "etc-esign audit verify" before pruning`);
        }
        take.push(r);
        prevSeq = r.seq;
        prevDigest = digestOf(r);
      }
      if (take.length === 0) return 0;
      await auditStore.deleteAuditEventsThrough(trx, prevSeq);
      await auditStore.writeHead(
        trx,
        signedHead(deps, { ...head, base_seq: prevSeq, base_digest: prevDigest }),
      );
      return take.length;
    });
    pruned += n;
    if (n < PRUNE_BATCH) break;
  }
  if (pruned > 0) await recordAudit(deps, { actor, action: 'audit.prune', detail: { pruned } });
  return pruned;
}

/**
 * Moves rows signed with an older key to the active key, a batch at a time, so that key can be
 * retired. Each row is checked under its old key first (re-signing never launders an edit) and
 * replaced only if nobody changed it meanwhile. Returns how many rows were re-signed; 0 when done.
 */
export async function resignAudit(deps: AuditDeps, limit = 500): Promise<number> {
  const db = deps.store.db;
  const active = deps.cipher.activeKeyId;
  const rows = await auditStore.auditEventsNotSignedWith(db, active, 0, limit);
  let done = 0;
  let prev: AuditEventRow | undefined;
  for (const r of rows) {
    let prevDigest: string;
    if (prev && prev.seq === r.seq - 1) prevDigest = digestOf(prev);
    else {
      const before = await auditStore.auditEventAt(db, r.seq - 1);
      prevDigest = before ? digestOf(before) : (await auditStore.readHead(db)).base_digest;
    }
    if (rowMac(deps, prevDigest, r, r.key_id) !== r.mac) {
      throw new Error(`audit row ${r.seq} fails its check under key ${r.key_id}; not re-signed`);
    }
    const mac = rowMac(deps, prevDigest, r, active) as string;
    if (
      await auditStore.updateAuditSignature(
        db,
        r.seq,
        { keyId: r.key_id, mac: r.mac },
        { keyId: active, mac },
      )
    )
      done++;
    prev = r;
  }
  await db.transaction().execute(async (trx) => {
    const head = await auditStore.lockHead(trx);
    if (head.key_id !== '' && head.key_id !== active) {
      if (headMac(deps, head, head.key_id) !== head.mac)
        throw new Error('audit head fails its check; not re-signed');
      await auditStore.writeHead(trx, signedHead(deps, head));
    }
  });
  return done;
}

/** How many audit rows each key signs (a key is retired only when it signs none). */
export async function auditKeyUsage(deps: Pick<AuditDeps, 'store'>) {
  const rows = await auditStore.countAuditEventsByKey(deps.store.db);
  const head = await auditStore.readHead(deps.store.db);
  return { rows, headKeyId: head.key_id };
}
