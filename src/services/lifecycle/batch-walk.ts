import type { Executor } from '../../store/db.js';
import * as lifecycleStore from '../../store/lifecycle-store.js';

export interface WalkNames {
  /** Lifecycle state holding the last id claimed ('' or absent: from the start). */
  cursor: string;
  /** Lifecycle state set to the walk's target (a key id) once a whole walk found nothing left. */
  done: string;
}

export interface WalkStep {
  moved: number;
  done: boolean;
  /** This call is the one that marked the walk done (exactly one call across all processes does). */
  finishedNow: boolean;
}

/**
 * One batch of a walk over a table in primary-key order, shared by every process through a cursor
 * in lifecycle state (re-encryption, blind-index recompute). The batch is claimed by moving the
 * cursor past it first, so processes working side by side take different batches; `work` must
 * update each row only if unchanged since read. A claim lost to a crash, or rows written behind
 * the cursor, are caught by `left()` at the end of the walk, which then starts another.
 */
export async function walkStep<R extends { id: string }>(
  db: Executor,
  now: number,
  names: WalkNames,
  target: string,
  fetch: (cursor: string) => Promise<R[]>,
  left: () => Promise<number>,
  work: (rows: R[]) => Promise<number>,
): Promise<WalkStep> {
  const stored = await lifecycleStore.getState(db, names.cursor);
  const rows = await fetch(stored ?? '');
  const last = rows.at(-1)?.id;
  if (last === undefined) {
    if ((await left()) === 0) {
      const before = await lifecycleStore.getState(db, names.done);
      const finishedNow =
        before !== target && (await lifecycleStore.swapState(db, names.done, before, target, now));
      return { moved: 0, done: true, finishedNow };
    }
    await lifecycleStore.swapState(db, names.cursor, stored, '', now);
    return { moved: 0, done: false, finishedNow: false };
  }
  // Another process took this batch first: the next call reads the moved cursor.
  if (!(await lifecycleStore.swapState(db, names.cursor, stored, last, now)))
    return { moved: 0, done: false, finishedNow: false };
  return { moved: await work(rows), done: false, finishedNow: false };
}
