import { type ExpressionBuilder, sql } from 'kysely';
import type { Executor } from './db.js';
import type { Database, FlowStatus } from './schema.js';
import { addStats, createdStats, finalStats, inTransaction } from './stats-store.js';

/**
 * Final flows (the statuses a flow never leaves), not yet erased: the predicate of the
 * `flows_retention` partial index, as a literal so that SQLite matches it to the index.
 */
const FINAL_UNERASED = sql<boolean>`erased_at is null and status not in ('CREATING', 'PENDING')`;

/** What an erased flow keeps: everything but these. One UPDATE per row, so a crash never half-erases. */
const erasedFlow = (now: number) => ({
  name_enc: '',
  mobile_enc: '',
  valid_period_enc: '',
  fingerprint: '',
  original_url: null,
  erased_at: now,
});

/**
 * Erases one client's flows for one person and ends the live ones (EXPIRED: the link answers 410
 * and a late provider result finds nothing pending). Returns how many flows were erased now.
 */
export async function eraseClientPersonFlows(
  ex: Executor,
  clientId: string,
  personId: string,
  now: number,
): Promise<number> {
  return inTransaction(ex, async (trx) => {
    // The flows this ends move the hourly counters too (a reservation becomes a flow that expired).
    const ending = await trx
      .selectFrom('flows')
      .select(['client_id', 'created_at', 'status'])
      .where('client_id', '=', clientId)
      .where('person_id', '=', personId)
      .where('erased_at', 'is', null)
      .where('status', 'in', ['CREATING', 'PENDING'])
      .execute();
    const res = await trx
      .updateTable('flows')
      .set({
        ...erasedFlow(now),
        status: sql<FlowStatus>`case when status in ('CREATING', 'PENDING') then 'EXPIRED' else status end`,
        updated_at: now,
      })
      .where('client_id', '=', clientId)
      .where('person_id', '=', personId)
      .where('erased_at', 'is', null)
      .executeTakeFirst();
    await addStats(
      trx,
      ending.flatMap((f) => [
        ...(f.status === 'CREATING' ? createdStats(f) : []),
        ...finalStats(f, 'EXPIRED'),
      ]),
    );
    return Number(res.numUpdatedRows);
  });
}

const noLiveFlow = (eb: ExpressionBuilder<Database, 'persons'>) =>
  eb.not(
    eb.exists(
      eb
        .selectFrom('flows')
        .select(sql`1`.as('one'))
        .whereRef('flows.person_id', '=', 'persons.id')
        .where('flows.erased_at', 'is', null),
    ),
  );

/** Erases a person's name and ID number when no flow still holds personal data of theirs. */
export async function erasePersonIfUnused(ex: Executor, personId: string, now: number): Promise<boolean> {
  const res = await ex
    .updateTable('persons')
    .set({ name_enc: '', id_number_enc: '', erased_at: now })
    .where('id', '=', personId)
    .where('erased_at', 'is', null)
    .where(noLiveFlow)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export interface RetentionBatch {
  /** Flows final since before this are erased. */
  finalBefore: number;
  now: number;
  limit: number;
  /** PostgreSQL: skip rows another process is erasing right now instead of waiting for it. */
  skipLocked: boolean;
}

/** Erases a batch of flows past retention, oldest first; returns how many. */
export async function eraseFlowsPastRetention(ex: Executor, b: RetentionBatch): Promise<number> {
  let pick = ex
    .selectFrom('flows')
    .select('id')
    .where(FINAL_UNERASED)
    .where('updated_at', '<', b.finalBefore)
    .orderBy('updated_at')
    .limit(b.limit);
  if (b.skipLocked) pick = pick.forUpdate().skipLocked();
  const res = await ex
    .updateTable('flows')
    .set(erasedFlow(b.now))
    .where('id', 'in', pick)
    .where('erased_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** Erases a batch of persons no flow needs any more, created before `createdBefore`. */
export async function erasePersonsUnused(
  ex: Executor,
  b: { createdBefore: number; now: number; limit: number; skipLocked: boolean },
): Promise<number> {
  let pick = ex
    .selectFrom('persons')
    .select('id')
    .where(sql<boolean>`erased_at is null`)
    .where('created_at', '<', b.createdBefore)
    .where(noLiveFlow)
    .orderBy('created_at')
    .limit(b.limit);
  if (b.skipLocked) pick = pick.forUpdate().skipLocked();
  const res = await ex
    .updateTable('persons')
    .set({ name_enc: '', id_number_enc: '', erased_at: b.now })
    .where('id', 'in', pick)
    .where('erased_at', 'is', null)
    .where(noLiveFlow)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** What a retention run would erase now (`--dry-run`). */
export async function countPastRetention(
  ex: Executor,
  b: { finalBefore: number; createdBefore: number },
): Promise<{ flows: number; persons: number }> {
  const flows = await ex
    .selectFrom('flows')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where(FINAL_UNERASED)
    .where('updated_at', '<', b.finalBefore)
    .executeTakeFirstOrThrow();
  // Persons whose every unerased flow would be erased by this run.
  const persons = await ex
    .selectFrom('persons')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where(sql<boolean>`erased_at is null`)
    .where('created_at', '<', b.createdBefore)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('flows')
            .select(sql`1`.as('one'))
            .whereRef('flows.person_id', '=', 'persons.id')
            .where('flows.erased_at', 'is', null)
            .where((f) =>
              f.or([
                f('flows.status', 'in', ['CREATING', 'PENDING']),
                f('flows.updated_at', '>=', b.finalBefore),
              ]),
            ),
        ),
      ),
    )
    .executeTakeFirstOrThrow();
  return { flows: Number(flows.n), persons: Number(persons.n) };
}

/** Gives an erased person their encrypted name and ID number back: a new flow needs them again. */
export async function refillPerson(
  ex: Executor,
  personId: string,
  values: { name_enc: string; id_number_enc: string },
): Promise<void> {
  await ex
    .updateTable('persons')
    .set({ ...values, erased_at: null })
    .where('id', '=', personId)
    .where('erased_at', 'is not', null)
    .execute();
}

export async function getState(ex: Executor, name: string): Promise<string | undefined> {
  const row = await ex
    .selectFrom('lifecycle_state')
    .select('value')
    .where('name', '=', name)
    .executeTakeFirst();
  return row?.value;
}

export async function setState(ex: Executor, name: string, value: string, now: number): Promise<void> {
  await ex
    .insertInto('lifecycle_state')
    .values({ name, value, updated_at: now })
    .onConflict((oc) => oc.column('name').doUpdateSet({ value, updated_at: now }))
    .execute();
}

/** Compare-and-set: true when the value was still `from` (or absent when `from` is undefined). */
export async function swapState(
  ex: Executor,
  name: string,
  from: string | undefined,
  to: string,
  now: number,
): Promise<boolean> {
  if (from === undefined) {
    const res = await ex
      .insertInto('lifecycle_state')
      .values({ name, value: to, updated_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }
  const res = await ex
    .updateTable('lifecycle_state')
    .set({ value: to, updated_at: now })
    .where('name', '=', name)
    .where('value', '=', from)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}
