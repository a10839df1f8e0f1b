import { addBlindKeyToFile, nextKeyId, removeBlindKeyFromFile } from '../../crypto/key-file-rotation.js';
import { readKeyRing } from '../../crypto/keys.js';
import { AppError } from '../../errors.js';
import * as blindStore from '../../store/blind-index-store.js';
import * as lifecycleStore from '../../store/lifecycle-store.js';
import { type AuditActor, recordAudit } from '../audit.js';
import type { ServiceDeps } from '../deps.js';
import { followActiveBlindKey, REINDEX_TABLES, reindexState } from './blind-index-reindex.js';
import * as registry from './key-registry.js';

type Deps = Pick<ServiceDeps, 'store' | 'cipher' | 'now' | 'config' | 'logger'>;

const BLIND = 'blind_index' as const;

/** `keys generate --next --blind-index`: a new entry for BLIND_INDEX_KEY, under an id never used before. */
export async function generateBlindKey(deps: Deps): Promise<string> {
  return nextKeyId(
    [...deps.cipher.blindKeyIds(), ...(await registry.knownKeyIds(deps.store.db, BLIND))],
    'b',
  );
}

/**
 * `keys rotate --blind-index`: a new blind-index key makes all new digests, and the recompute of
 * the old ones starts over (see blind-index-reindex.ts).
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
    for (const t of REINDEX_TABLES) {
      await lifecycleStore.setState(trx, reindexState(t).cursor, '', now);
      await lifecycleStore.setState(trx, reindexState(t).done, '', now);
    }
    await recordAudit(deps, { actor, action: 'keys.rotate-blind-index', target: to, detail: { from } }, trx);
  });
  deps.cipher.setActiveBlind(to);
  return { from, to };
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
