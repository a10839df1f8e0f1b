import { addBlindKeyToFile, nextKeyId, removeBlindKeyFromFile } from '../../crypto/key-file-rotation.js';
import { readKeyRing } from '../../crypto/keys.js';
import { AppError } from '../../errors.js';
import * as blindStore from '../../store/blind-index-store.js';
import * as lifecycleStore from '../../store/lifecycle-store.js';
import { type AuditActor, recordAudit } from '../audit.js';
import type { ServiceDeps } from '../deps.js';
import { walkStep } from './batch-walk.js';
import * as registry from './key-registry.js';

type Deps = Pick<ServiceDeps, 'store' | 'cipher' | 'now' | 'config' | 'logger'>;

/** Rows per recompute batch: a few HMACs and decryptions and one short UPDATE per row. */
export const REINDEX_BATCH = 50;

const BLIND = 'blind_index' as const;
const TABLES = ['persons', 'flows'] as const;
type Table = (typeof TABLES)[number];
const names = (table: Table) => ({ cursor: `reindex.cursor.${table}`, done: `reindex.done.${table}` });

/**
 * Makes this process make new blind indexes with the key the database names (set by `keys rotate
 * --blind-index`), so every process switches within one refresh interval. A process lacking that
 * key keeps its own and says so: the recompute moves its new rows over later.
 */
export async function followActiveBlindKey(deps: Deps): Promise<string> {
  const id = await registry.getActiveKeyId(deps.store.db, BLIND);
  if (id && id !== deps.cipher.blindKeyId && !deps.cipher.setActiveBlind(id)) {
    deps.logger.error(
      { keyId: id },
      'the database names a blind-index key this process does not hold; add it to BLIND_INDEX_KEY and restart',
    );
  }
  return deps.cipher.blindKeyId;
}

/** `keys generate --next --blind-index`: a new entry for BLIND_INDEX_KEY, under an id never used before. */
export async function generateBlindKey(deps: Deps): Promise<string> {
  return nextKeyId(
    [...deps.cipher.blindKeyIds(), ...(await registry.knownKeyIds(deps.store.db, BLIND))],
    'b',
  );
}

/**
 * `keys rotate --blind-index`: a new blind-index key makes all new digests, and the recompute of
 * the old ones starts over (serving processes do it in the background; `keys reindex` at once).
 * Lookups try every key held meanwhile, so old and new digests both answer. With a key file the
 * new key is made and written into it; with BLIND_INDEX_KEY it must already be in every process's
 * list (see README).
 */
export async function rotateBlindKey(
  deps: Deps,
  actor: AuditActor,
  opts: { to?: string } = {},
): Promise<{ from: string; to: string }> {
  const db = deps.store.db;
  const from = await followActiveBlindKey(deps);
  const retired = await registry.retiredKeyIds(db, BLIND);
  let to: string;
  if (deps.config.keys === null) {
    to = await generateBlindKey(deps);
    addBlindKeyToFile(deps.config.dataDir, to);
    const written = readKeyRing(deps.config)?.blindIndex.find((k) => k.id === to);
    if (!written || !deps.cipher.hasBlindKey(to))
      throw new Error(`blind-index key ${to} was written to the key file but cannot be read back`);
    await registry.recordNewKey(db, to, written.key, deps.now(), BLIND);
  } else {
    // New: held, and neither retired nor the key of any row (the one rotated away from, say).
    const inUse = await blindStore.blindKeyIdsInUse(db);
    const candidates = deps.cipher
      .blindKeyIds()
      .filter(
        (id) =>
          id !== from &&
          !retired.includes(id) &&
          !inUse.includes(id) &&
          (opts.to === undefined || id === opts.to),
      );
    if (candidates.length !== 1) {
      throw new AppError('conflict', {
        detail:
          opts.to === undefined
            ? 'add one new key to BLIND_INDEX_KEY in every process (etc-esign keys generate --next --blind-index prints one), restart them, then run keys rotate --blind-index (or name it with --to)'
            : `blind-index key "${opts.to}" is not a new key this process holds`,
      });
    }
    to = candidates[0] as string;
  }
  const now = deps.now();
  await db.transaction().execute(async (trx) => {
    await registry.setActiveKeyId(trx, to, now, BLIND);
    for (const t of TABLES) {
      await lifecycleStore.setState(trx, names(t).cursor, '', now);
      await lifecycleStore.setState(trx, names(t).done, '', now);
    }
    await recordAudit(deps, { actor, action: 'keys.rotate-blind-index', target: to, detail: { from } }, trx);
  });
  deps.cipher.setActiveBlind(to);
  return { from, to };
}

/** A person's verified name in the clear: whichever held name has the stored digest. */
function verifiedName(deps: Deps, p: blindStore.PersonToMove, names: string[]): string | null {
  const keyId = p.verified_name_key_id;
  if (p.verified_name_index === null || keyId === null || !deps.cipher.hasBlindKey(keyId)) return null;
  return names.find((n) => deps.cipher.blindIndex('name', n, keyId) === p.verified_name_index) ?? null;
}

async function personsBatch(deps: Deps, active: string, rows: blindStore.PersonToMove[]): Promise<number> {
  const db = deps.store.db;
  const held = await blindStore.flowNamesOf(
    db,
    rows.map((r) => r.id),
  );
  const moves = rows.map((p) => {
    const idIndex =
      p.blind_key_id === active
        ? p.id_index
        : deps.cipher.blindIndex('id', deps.cipher.decrypt(p.id_number_enc), active);
    const names = [p.name_enc, ...held.filter((f) => f.person_id === p.id).map((f) => f.name_enc)].map((v) =>
      deps.cipher.decrypt(v),
    );
    const name = p.verified_name_key_id === active ? null : verifiedName(deps, p, names);
    // A verified name no held name matches keeps its old digest: it answers while that key is held.
    const verified =
      name === null
        ? { verified_name_index: p.verified_name_index, verified_name_key_id: p.verified_name_key_id }
        : { verified_name_index: deps.cipher.blindIndex('name', name, active), verified_name_key_id: active };
    return { before: p, after: { id_index: idIndex, blind_key_id: active, ...verified } };
  });
  const changed = moves.filter(
    (m) =>
      m.after.id_index !== m.before.id_index ||
      m.after.blind_key_id !== m.before.blind_key_id ||
      m.after.verified_name_key_id !== m.before.verified_name_key_id,
  );
  if (changed.length === 0) return 0;
  let moved = 0;
  await db.transaction().execute(async (trx) => {
    const taken = await blindStore.takenIdIndexes(
      trx,
      changed.filter((m) => m.before.blind_key_id !== active).map((m) => m.after.id_index),
    );
    for (const m of changed) {
      const other = m.before.blind_key_id === active ? undefined : taken.get(m.after.id_index);
      if (other !== undefined && other !== m.before.id) {
        await settleDuplicate(deps, trx, m, other);
      } else if (await blindStore.movePerson(trx, m.before, m.after)) {
        taken.set(m.after.id_index, m.before.id);
        moved++;
      }
    }
  });
  return moved;
}

/**
 * Two rows for one person: written while processes disagreed on the key (or one lacked the new
 * key), each under its own key. The row already on the active key stays the person; the other
 * one keeps its flows but no lookup finds it any more (its ID-number digest becomes a marker), and
 * hands over its verification when the person has none.
 */
async function settleDuplicate(
  deps: Deps,
  trx: Parameters<typeof blindStore.movePerson>[0],
  m: { before: blindStore.PersonToMove; after: Parameters<typeof blindStore.movePerson>[2] },
  personId: string,
): Promise<void> {
  const ours = await blindStore.verificationOf(trx, m.before.id);
  const marker = { ...m.after, id_index: `duplicate:${m.before.id}` };
  if (!(await blindStore.movePerson(trx, m.before, marker))) return;
  if (
    ours?.verified_at != null &&
    m.after.verified_name_key_id === m.after.blind_key_id &&
    m.after.verified_name_index
  ) {
    await blindStore.adoptVerification(trx, personId, {
      account_id: ours.account_id,
      verified_at: ours.verified_at,
      verified_name_index: m.after.verified_name_index,
      verified_name_key_id: m.after.verified_name_key_id,
    });
  }
  deps.logger.warn(
    { personId: m.before.id, duplicateOf: personId },
    'blind-index recompute: a person was stored twice; the row on the active key is kept',
  );
}

function flowsBatch(deps: Deps, active: string, rows: blindStore.FlowToMove[]): Promise<number> {
  const c = deps.cipher;
  const moves = rows.map((f) => {
    const code = c.decrypt(f.short_code_enc);
    if (f.erased_at !== null) {
      // The mobile is gone; so is the digest that found the erased flow by it.
      return {
        before: f,
        after: {
          fingerprint: '',
          short_code: c.blindIndex('short-code', code, active),
          mobile_index: null,
          blind_key_id: active,
        },
      };
    }
    const mobile = c.decrypt(f.mobile_enc);
    const idNumber = f.person_id_number_enc === '' ? null : c.decrypt(f.person_id_number_enc);
    const request = [f.client_id, c.decrypt(f.name_enc), idNumber, mobile, c.decrypt(f.valid_period_enc)];
    return {
      before: f,
      after: {
        // Without the person's ID number (erased) the flow can no longer be matched to a repeated request.
        fingerprint:
          idNumber === null || f.fingerprint === ''
            ? ''
            : c.blindIndex('request', request.join('\u0000'), active),
        short_code: c.blindIndex('short-code', code, active),
        mobile_index: f.mobile_index === null ? null : c.blindIndex('mobile', mobile, active),
        blind_key_id: active,
      },
    };
  });
  return deps.store.db.transaction().execute(async (trx) => {
    let moved = 0;
    for (const m of moves) if (await blindStore.moveFlow(trx, m.before, m.after)) moved++;
    return moved;
  });
}

function reindexStep(deps: Deps, table: Table, active: string) {
  const db = deps.store.db;
  const left = async () => (await blindStore.countToMove(db, active))[table];
  return table === 'persons'
    ? walkStep(
        db,
        deps.now(),
        names(table),
        active,
        (cursor) => blindStore.personsAfter(db, cursor, active, REINDEX_BATCH),
        left,
        (rows) => personsBatch(deps, active, rows),
      )
    : walkStep(
        db,
        deps.now(),
        names(table),
        active,
        (cursor) => blindStore.flowsAfter(db, cursor, active, REINDEX_BATCH),
        left,
        (rows) => flowsBatch(deps, active, rows),
      );
}

export interface ReindexProgress {
  activeKeyId: string;
  moved: Record<Table, number>;
  done: boolean;
}

/**
 * Recomputes blind indexes until every row that can be moved is on the active key, or
 * `maxBatches` batches were done, or `signal` aborts. Resumable from any point, by any process.
 * The process that finds the last table done records the completion in the audit trail.
 */
export async function reindex(
  deps: Deps,
  opts: { signal?: AbortSignal; maxBatches?: number; actor: AuditActor; restart?: boolean },
): Promise<ReindexProgress> {
  const db = deps.store.db;
  const active = await followActiveBlindKey(deps);
  const moved: Record<Table, number> = { persons: 0, flows: 0 };
  // Never rotated: every digest is under the one key.
  if (!opts.restart && (await registry.getActiveKeyId(db, BLIND)) === undefined) {
    return { activeKeyId: active, moved, done: true };
  }
  // A repeated run over a finished recompute walks again but is no second completion.
  let finishedBefore = false;
  if (opts.restart) {
    finishedBefore = true;
    for (const t of TABLES) {
      finishedBefore &&= (await lifecycleStore.getState(db, names(t).done)) === active;
      await lifecycleStore.setState(db, names(t).done, '', deps.now());
    }
  }
  let batches = 0;
  const budgetLeft = () => !opts.signal?.aborted && batches < (opts.maxBatches ?? Number.POSITIVE_INFINITY);
  let done = true;
  let finished = false;
  for (const t of TABLES) {
    if ((await lifecycleStore.getState(db, names(t).done)) === active) continue;
    let tableDone = false;
    while (!tableDone && budgetLeft()) {
      batches++;
      const r = await reindexStep(deps, t, active);
      moved[t] += r.moved;
      tableDone = r.done;
      finished ||= r.finishedNow;
    }
    if (!tableDone) done = false;
  }
  if (done && finished && !finishedBefore) {
    const status = await blindKeyStatus(deps);
    await recordAudit(deps, {
      actor: opts.actor,
      action: 'keys.reindex',
      target: active,
      detail: { stranded: status.stranded },
    });
  }
  return { activeKeyId: active, moved, done };
}

export interface BlindKeyStatus {
  id: string;
  held: boolean;
  retired: boolean;
  persons: number;
  flows: number;
  stranded: number;
}

/** `keys status`: the active blind-index key, each key's use, what is left to move and what never can be. */
export async function blindKeyStatus(deps: Deps) {
  const db = deps.store.db;
  const active = (await registry.getActiveKeyId(db, BLIND)) ?? deps.cipher.blindKeyId;
  const retired = await registry.retiredKeyIds(db, BLIND);
  const ids = [
    ...new Set([...deps.cipher.blindKeyIds(), ...(await blindStore.blindKeyIdsInUse(db)), ...retired]),
  ].sort();
  const keys: BlindKeyStatus[] = [];
  for (const id of ids) {
    keys.push({
      id,
      held: deps.cipher.blindKeyIds().includes(id),
      retired: retired.includes(id),
      ...(await blindStore.blindKeyUse(db, id)),
    });
  }
  const others = keys.filter((k) => k.id !== active);
  return {
    activeKeyId: active,
    processKeyId: deps.cipher.blindKeyId,
    keys,
    remaining: others.reduce((n, k) => n + k.persons + k.flows, 0),
    stranded: others.filter((k) => !k.retired).reduce((n, k) => n + k.stranded, 0),
  };
}

/**
 * `keys retire <id> --blind-index`: only a key the recompute has moved every movable row off,
 * and not the active one. Persons only that key recognises (erased, or verified under a name no
 * flow holds any more) make it refuse unless `acceptStranded`: once the key is gone they are
 * strangers, and the next request for one makes a new flow.
 */
export async function retireBlindKey(
  deps: Deps,
  id: string,
  actor: AuditActor,
  opts: { acceptStranded?: boolean } = {},
): Promise<{ stranded: number }> {
  const status = await blindKeyStatus(deps);
  const key = status.keys.find((k) => k.id === id);
  if (!key) throw new AppError('not_found', { detail: `no blind-index key "${id}"` });
  if (id === status.activeKeyId)
    throw new AppError('conflict', { detail: `"${id}" is the active blind-index key` });
  if (key.persons > 0 || key.flows > 0) {
    throw new AppError('conflict', {
      detail: `blind-index key "${id}" still indexes ${key.persons} persons and ${key.flows} flows: wait for the recompute (keys status) or run keys reindex`,
    });
  }
  if (key.stranded > 0 && !opts.acceptStranded) {
    throw new AppError('conflict', {
      detail: `blind-index key "${id}" alone recognises ${key.stranded} persons whose digests cannot be recomputed (erased, or verified under a name no flow holds any more): once it is retired they lose "already verified" and get a new flow when asked for again; add --accept-stranded to retire it anyway`,
    });
  }
  await deps.store.db.transaction().execute(async (trx) => {
    await registry.markRetired(trx, id, deps.now(), BLIND);
    await recordAudit(
      deps,
      { actor, action: 'keys.retire-blind-index', target: id, detail: { stranded: key.stranded } },
      trx,
    );
  });
  if (deps.config.keys === null && key.held) removeBlindKeyFromFile(deps.config.dataDir, id);
  return { stranded: key.stranded };
}
