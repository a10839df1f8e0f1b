/**
 * The blind-index recompute after a rotation (`keys rotate --blind-index`): every row's digests are
 * made again under the active key from its decrypted values, in batches claimed through a cursor
 * shared by all processes (see `walkStep`). Serving processes run it in the background; `keys
 * reindex` at once.
 */
import * as blindStore from '../../store/blind-index-store.js';
import * as lifecycleStore from '../../store/lifecycle-store.js';
import { type AuditActor, recordAudit } from '../audit.js';
import type { ServiceDeps } from '../deps.js';
import { walkStep } from './batch-walk.js';
import * as registry from './key-registry.js';

type Deps = Pick<ServiceDeps, 'store' | 'cipher' | 'now' | 'logger'>;

/** Rows per recompute batch: a few HMACs and decryptions and one short UPDATE per row. */
export const REINDEX_BATCH = 50;

const BLIND = 'blind_index' as const;
export const REINDEX_TABLES = ['persons', 'flows'] as const;
type Table = (typeof REINDEX_TABLES)[number];
export const reindexState = (table: Table) => ({
  cursor: `reindex.cursor.${table}`,
  done: `reindex.done.${table}`,
});

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
        reindexState(table),
        active,
        (cursor) => blindStore.personsAfter(db, cursor, active, REINDEX_BATCH),
        left,
        (rows) => personsBatch(deps, active, rows),
      )
    : walkStep(
        db,
        deps.now(),
        reindexState(table),
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
    for (const t of REINDEX_TABLES) {
      finishedBefore &&= (await lifecycleStore.getState(db, reindexState(t).done)) === active;
      await lifecycleStore.setState(db, reindexState(t).done, '', deps.now());
    }
  }
  let batches = 0;
  const budgetLeft = () => !opts.signal?.aborted && batches < (opts.maxBatches ?? Number.POSITIVE_INFINITY);
  let done = true;
  let finished = false;
  for (const t of REINDEX_TABLES) {
    if ((await lifecycleStore.getState(db, reindexState(t).done)) === active) continue;
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
    await recordAudit(deps, {
      actor: opts.actor,
      action: 'keys.reindex',
      target: active,
      detail: { stranded: await blindStore.countStranded(db, active) },
    });
  }
  return { activeKeyId: active, moved, done };
}
