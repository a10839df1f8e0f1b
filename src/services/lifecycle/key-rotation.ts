import {
  addKeyToFile,
  newKeyMaterial,
  nextKeyId,
  removeKeyFromFile,
} from '../../crypto/key-file-rotation.js';
import { readKeyRing } from '../../crypto/keys.js';
import { AppError } from '../../errors.js';
import * as lifecycleStore from '../../store/lifecycle-store.js';
import * as reencryptStore from '../../store/reencrypt-store.js';
import { ENCRYPTED_TABLES, type EncryptedTable } from '../../store/reencrypt-store.js';
import { type AuditActor, auditKeyUsage, recordAudit, resignAudit } from '../audit.js';
import type { ServiceDeps } from '../deps.js';
import { walkStep } from './batch-walk.js';
import * as registry from './key-registry.js';

type Deps = Pick<ServiceDeps, 'store' | 'cipher' | 'now' | 'config' | 'logger'>;

/** Rows per re-encryption batch: one short UPDATE per row, a few ms per batch. */
export const REENCRYPT_BATCH = 50;

/** A value sealed under a key id (key ids are 1–16 of A-Z a-z 0-9 _ -). */
const SEALED = /^[A-Za-z0-9_-]{1,16}\./;

const cursorName = (table: string) => `reencrypt.cursor.${table}`;
/** Set to the active key id once a whole pass over the table found nothing left to move. */
const doneName = (table: string) => `reencrypt.done.${table}`;
type Part = EncryptedTable | 'audit';
const PARTS: Part[] = [...ENCRYPTED_TABLES, 'audit'];

/**
 * Makes this process encrypt with the key the database names (set by `keys rotate`), so every
 * process switches within one refresh interval. A process lacking that key keeps its own and says
 * so: its new values are moved over by re-encryption later.
 */
export async function followActiveKey(deps: Deps): Promise<string> {
  const id = await registry.getActiveKeyId(deps.store.db);
  if (id && id !== deps.cipher.activeKeyId && !deps.cipher.setActive(id)) {
    deps.logger.error(
      { keyId: id },
      'the database names an encryption key this process does not hold; add it to ENCRYPTION_KEYS and restart',
    );
  }
  return deps.cipher.activeKeyId;
}

/** `keys generate`: a new key line for ENCRYPTION_KEYS, under an id never used before. */
export async function generateKey(deps: Deps): Promise<{ id: string; line: string }> {
  const id = nextKeyId([...deps.cipher.keyIds(), ...(await registry.knownKeyIds(deps.store.db))]);
  return { id, line: `${id}:${newKeyMaterial()}` };
}

/**
 * `keys rotate`: a new key becomes the one all new values are encrypted with, and re-encryption
 * of the old values starts over (the serving processes do it in the background; `keys reencrypt`
 * does it at once). With a key file, the new key is made and written into it; with
 * ENCRYPTION_KEYS, the new key must already be in every process's list (see README). From then on
 * the database's choice wins over the order of the list.
 */
export async function rotateKey(
  deps: Deps,
  actor: AuditActor,
  opts: { to?: string } = {},
): Promise<{ from: string; to: string }> {
  const db = deps.store.db;
  const from = await followActiveKey(deps);
  const retired = await registry.retiredKeyIds(db);
  let to: string;
  if (deps.config.keys === null) {
    to = nextKeyId([...deps.cipher.keyIds(), ...(await registry.knownKeyIds(db))]);
    addKeyToFile(deps.config.dataDir, to);
    const written = readKeyRing(deps.config)?.encryption.find((k) => k.id === to);
    if (!written || !deps.cipher.hasKey(to))
      throw new Error(`key ${to} was written to the key file but cannot be read back`);
    await registry.recordNewKey(db, to, written.key, deps.now());
  } else {
    const candidates = deps.cipher
      .keyIds()
      .filter((id) => id !== from && !retired.includes(id) && (opts.to === undefined || id === opts.to));
    if (candidates.length !== 1) {
      throw new AppError('conflict', {
        detail:
          opts.to === undefined
            ? 'add one new key to ENCRYPTION_KEYS in every process (etc-esign keys generate prints one), restart them, then run keys rotate (or name it with --to)'
            : `key "${opts.to}" is not a new key this process holds`,
      });
    }
    to = candidates[0] as string;
  }
  const now = deps.now();
  await db.transaction().execute(async (trx) => {
    await registry.setActiveKeyId(trx, to, now);
    for (const part of PARTS) {
      await lifecycleStore.setState(trx, cursorName(part), '', now);
      await lifecycleStore.setState(trx, doneName(part), '', now);
    }
    await recordAudit(deps, { actor, action: 'keys.rotate', target: to, detail: { from } }, trx);
  });
  deps.cipher.setActive(to);
  return { from, to };
}

/**
 * Moves one batch of one table onto the active key (see `walkStep`): each row is replaced in one
 * UPDATE only if unchanged since read. Returns the rows moved and whether the table is done.
 */
async function reencryptBatch(deps: Deps, table: EncryptedTable, active: string) {
  const db = deps.store.db;
  const names = { cursor: cursorName(table), done: doneName(table) };
  return walkStep(
    db,
    deps.now(),
    names,
    active,
    (cursor) => reencryptStore.rowsAfter(db, table, cursor, REENCRYPT_BATCH),
    () => reencryptStore.countOffKey(db, table, active),
    async (rows) => {
      const prefix = `${active}.`;
      const changes: { row: reencryptStore.EncryptedRow; after: Record<string, string | null> }[] = [];
      for (const row of rows) {
        const after: Record<string, string | null> = {};
        let stale = false;
        for (const [col, value] of Object.entries(row)) {
          if (col === 'id') continue;
          // Only sealed values (`<keyId>.…`); a legacy link in the clear is sealed at start instead.
          const moving = value !== null && SEALED.test(value) && !value.startsWith(prefix);
          if (moving) stale = true;
          after[col] = moving ? deps.cipher.encrypt(deps.cipher.decrypt(value)) : value;
        }
        if (stale) changes.push({ row, after });
      }
      // One commit per batch (not per row): encryption happens before, so the transaction is short.
      let moved = 0;
      if (changes.length > 0) {
        await db.transaction().execute(async (trx) => {
          for (const c of changes)
            if (await reencryptStore.replaceEncrypted(trx, table, c.row, c.after)) moved++;
        });
      }
      return moved;
    },
  );
}

export interface ReencryptProgress {
  activeKeyId: string;
  moved: Record<Part, number>;
  done: boolean;
}

/**
 * Re-encrypts until every table (and the audit trail's signatures) is on the active key, or
 * `maxBatches` batches were done, or `signal` aborts. Resumable from any point, by any process.
 */
export async function reencrypt(
  deps: Deps,
  opts: { signal?: AbortSignal; maxBatches?: number; actor?: AuditActor; restart?: boolean } = {},
): Promise<ReencryptProgress> {
  const db = deps.store.db;
  const active = await followActiveKey(deps);
  const moved: Record<Part, number> = { persons: 0, flows: 0, clients: 0, audit: 0 };
  // Never rotated: everything is on the one key, and a walk of every table would find nothing.
  if (!opts.restart && (await registry.getActiveKeyId(db)) === undefined) {
    return { activeKeyId: active, moved, done: true };
  }
  if (opts.restart) {
    for (const part of PARTS) await lifecycleStore.setState(db, doneName(part), '', deps.now());
  }
  let batches = 0;
  const budgetLeft = () => !opts.signal?.aborted && batches < (opts.maxBatches ?? Number.POSITIVE_INFINITY);
  let done = true;
  for (const part of PARTS) {
    if ((await lifecycleStore.getState(db, doneName(part))) === active) continue;
    let partDone = false;
    while (!partDone && budgetLeft()) {
      batches++;
      if (part === 'audit') {
        const n = await resignAudit(deps, REENCRYPT_BATCH);
        moved.audit += n;
        if (n === 0) {
          partDone = true;
          await lifecycleStore.setState(db, doneName(part), active, deps.now());
        }
      } else {
        const r = await reencryptBatch(deps, part, active);
        moved[part] += r.moved;
        partDone = r.done;
      }
    }
    if (!partDone) done = false;
  }
  const total = Object.values(moved).reduce((a, b) => a + b, 0);
  if (total > 0 && opts.actor) {
    await recordAudit(deps, {
      actor: opts.actor,
      action: 'keys.reencrypt',
      target: active,
      detail: { ...moved, done },
    });
  }
  return { activeKeyId: active, moved, done };
}

export interface KeyUse {
  id: string;
  held: boolean;
  retired: boolean;
  /** Encrypted values (persons, flows, clients) and audit rows signed with it. */
  values: number;
  auditRows: number;
}

/** `keys status`: the active key, every key's use, and how far re-encryption has come. */
export async function keyStatus(deps: Deps) {
  const db = deps.store.db;
  const dbActive = await registry.getActiveKeyId(db);
  const retired = await registry.retiredKeyIds(db);
  const audit = await auditKeyUsage(deps);
  const ids = [...new Set([...deps.cipher.keyIds(), ...audit.rows.map((r) => r.keyId), ...retired])].sort();
  const keys: KeyUse[] = [];
  for (const id of ids) {
    let values = 0;
    for (const t of ENCRYPTED_TABLES) values += await reencryptStore.countOnKey(db, t, id);
    keys.push({
      id,
      held: deps.cipher.keyIds().includes(id),
      retired: retired.includes(id),
      values,
      auditRows: audit.rows.find((r) => r.keyId === id)?.rows ?? 0,
    });
  }
  const active = dbActive ?? deps.cipher.activeKeyId;
  const remaining = keys.filter((k) => k.id !== active).reduce((n, k) => n + k.values + k.auditRows, 0);
  return { activeKeyId: active, processKeyId: deps.cipher.activeKeyId, keys, remaining };
}

/** `keys retire <id>`: only a key no value and no audit row uses any more, and not the active one. */
export async function retireKey(deps: Deps, id: string, actor: AuditActor): Promise<void> {
  const status = await keyStatus(deps);
  const key = status.keys.find((k) => k.id === id);
  if (!key) throw new AppError('not_found', { detail: `no key "${id}"` });
  if (id === status.activeKeyId) throw new AppError('conflict', { detail: `"${id}" is the active key` });
  const head = await auditKeyUsage(deps);
  if (key.values > 0 || key.auditRows > 0 || head.headKeyId === id) {
    throw new AppError('conflict', {
      detail: `key "${id}" still protects ${key.values} values and ${key.auditRows} audit rows: wait for re-encryption (keys status) or run keys reencrypt`,
    });
  }
  await deps.store.db.transaction().execute(async (trx) => {
    await registry.markRetired(trx, id, deps.now());
    await recordAudit(deps, { actor, action: 'keys.retire', target: id }, trx);
  });
  if (deps.config.keys === null && key.held) removeKeyFromFile(deps.config.dataDir, id);
}
