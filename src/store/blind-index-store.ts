import { type ExpressionBuilder, sql } from 'kysely';
import type { Executor } from './db.js';
import type { Database } from './schema.js';
import { sameAs } from './unchanged.js';

/**
 * The blind-index recompute after a rotation: every row's digests are made again under the active
 * key from its decrypted values. An erased person (name and ID number '') cannot be: it keeps the
 * old key's digests, which answer for as long as that key is held.
 */

export interface PersonToMove {
  id: string;
  id_index: string;
  blind_key_id: string;
  name_enc: string;
  id_number_enc: string;
  verified_name_index: string | null;
  verified_name_key_id: string | null;
}

const offKey = (keyId: string) => (eb: ExpressionBuilder<Database, 'persons'>) =>
  eb.or([
    eb('blind_key_id', '<>', keyId),
    eb.and([eb('verified_name_key_id', 'is not', null), eb('verified_name_key_id', '<>', keyId)]),
  ]);

/** The next unerased persons after `cursor` (primary-key order) with a digest under another key. */
export function personsAfter(
  ex: Executor,
  cursor: string,
  keyId: string,
  limit: number,
): Promise<PersonToMove[]> {
  return ex
    .selectFrom('persons')
    .select([
      'id',
      'id_index',
      'blind_key_id',
      'name_enc',
      'id_number_enc',
      'verified_name_index',
      'verified_name_key_id',
    ])
    .where('id', '>', cursor)
    .where('erased_at', 'is', null)
    .where(offKey(keyId))
    .orderBy('id')
    .limit(limit)
    .execute();
}

/** The names still held (unerased flows) of these persons: one of them is the name they were verified under. */
export function flowNamesOf(ex: Executor, personIds: readonly string[]) {
  if (personIds.length === 0) return Promise.resolve([]);
  return ex
    .selectFrom('flows')
    .select(['person_id', 'name_enc'])
    .where('person_id', 'in', personIds)
    .where('erased_at', 'is', null)
    .where('name_enc', '<>', '')
    .execute();
}

/** Which of these ID-number digests a person already has (a duplicate of the same person). */
export async function takenIdIndexes(ex: Executor, digests: readonly string[]): Promise<Map<string, string>> {
  if (digests.length === 0) return new Map();
  const rows = await ex
    .selectFrom('persons')
    .select(['id', 'id_index'])
    .where('id_index', 'in', digests)
    .execute();
  return new Map(rows.map((r) => [r.id_index, r.id]));
}

/** Replaces a person's digests in one UPDATE, only if they are still those read and it was not erased meanwhile. */
export async function movePerson(
  ex: Executor,
  before: PersonToMove,
  after: Pick<PersonToMove, 'id_index' | 'blind_key_id' | 'verified_name_index' | 'verified_name_key_id'>,
): Promise<boolean> {
  const r = await ex
    .updateTable('persons')
    .set(after)
    .where('id', '=', before.id)
    .where('id_index', '=', before.id_index)
    .where('blind_key_id', '=', before.blind_key_id)
    .where(sameAs('verified_name_index', before.verified_name_index))
    .where(sameAs('verified_name_key_id', before.verified_name_key_id))
    .where('erased_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Gives a person the verification of its duplicate, unless it has one of its own. */
export async function adoptVerification(
  ex: Executor,
  personId: string,
  v: {
    account_id: string | null;
    verified_at: number;
    verified_name_index: string;
    verified_name_key_id: string;
  },
): Promise<void> {
  await ex
    .updateTable('persons')
    .set(v)
    .where('id', '=', personId)
    .where('verified_at', 'is', null)
    .execute();
}

export async function verificationOf(ex: Executor, personId: string) {
  return ex
    .selectFrom('persons')
    .select(['account_id', 'verified_at'])
    .where('id', '=', personId)
    .executeTakeFirst();
}

export interface FlowToMove {
  id: string;
  client_id: string;
  fingerprint: string;
  short_code: string;
  short_code_enc: string;
  mobile_index: string | null;
  blind_key_id: string;
  name_enc: string;
  mobile_enc: string;
  valid_period_enc: string;
  erased_at: number | null;
  /** The person's encrypted ID number ('' once erased), part of the request fingerprint. */
  person_id_number_enc: string;
}

/** The next flows after `cursor` whose digests are under another key (sealed flows only). */
export function flowsAfter(
  ex: Executor,
  cursor: string,
  keyId: string,
  limit: number,
): Promise<FlowToMove[]> {
  return ex
    .selectFrom('flows')
    .innerJoin('persons', 'persons.id', 'flows.person_id')
    .select([
      'flows.id',
      'flows.client_id',
      'flows.fingerprint',
      'flows.short_code',
      'flows.mobile_index',
      'flows.blind_key_id',
      'flows.name_enc',
      'flows.mobile_enc',
      'flows.valid_period_enc',
      'flows.erased_at',
      'persons.id_number_enc as person_id_number_enc',
    ])
    .select(sql<string>`flows.short_code_enc`.as('short_code_enc'))
    .where('flows.id', '>', cursor)
    .where('flows.blind_key_id', '<>', keyId)
    .where('flows.short_code_enc', 'is not', null)
    .orderBy('flows.id')
    .limit(limit)
    .execute();
}

/** Replaces a flow's digests in one UPDATE, only if they are still those read and it was not erased meanwhile. */
export async function moveFlow(
  ex: Executor,
  before: FlowToMove,
  after: Pick<FlowToMove, 'fingerprint' | 'short_code' | 'mobile_index' | 'blind_key_id'>,
): Promise<boolean> {
  const r = await ex
    .updateTable('flows')
    .set(after)
    .where('id', '=', before.id)
    .where('fingerprint', '=', before.fingerprint)
    .where('short_code', '=', before.short_code)
    .where(sameAs('mobile_index', before.mobile_index))
    .where('blind_key_id', '=', before.blind_key_id)
    .where(before.erased_at === null ? sql<boolean>`erased_at is null` : sql<boolean>`erased_at is not null`)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

const count = async (q: { executeTakeFirstOrThrow(): Promise<{ n: number | string }> }) =>
  Number((await q.executeTakeFirstOrThrow()).n);

/** What the recompute still has to move onto `keyId`: unerased persons and sealed flows under another key. */
export async function countToMove(ex: Executor, keyId: string): Promise<{ persons: number; flows: number }> {
  return {
    persons: await count(
      ex
        .selectFrom('persons')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('erased_at', 'is', null)
        .where('blind_key_id', '<>', keyId),
    ),
    flows: await count(
      ex
        .selectFrom('flows')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('blind_key_id', '<>', keyId)
        .where('short_code_enc', 'is not', null),
    ),
  };
}

export interface BlindKeyUse {
  /** Unerased persons and flows whose digests are under this key (the recompute can move them). */
  persons: number;
  flows: number;
  /**
   * Persons only this key recognises, which no recompute can move: erased ones (ID number gone),
   * and verified names that no unerased flow holds any more.
   */
  stranded: number;
}

export async function blindKeyUse(ex: Executor, keyId: string): Promise<BlindKeyUse> {
  const persons = (ex: Executor) =>
    ex.selectFrom('persons').select((eb) => eb.fn.countAll<number | string>().as('n'));
  return {
    persons: await count(persons(ex).where('blind_key_id', '=', keyId).where('erased_at', 'is', null)),
    flows: await count(
      ex
        .selectFrom('flows')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('blind_key_id', '=', keyId),
    ),
    stranded: await count(
      persons(ex).where((eb) =>
        eb.or([
          eb.and([eb('blind_key_id', '=', keyId), eb('erased_at', 'is not', null)]),
          eb.and([eb('verified_name_key_id', '=', keyId), eb('blind_key_id', '<>', keyId)]),
        ]),
      ),
    ),
  };
}

/** Every blind-index key id some row's digests are under. */
export async function blindKeyIdsInUse(ex: Executor): Promise<string[]> {
  const r = await sql<{
    id: string;
  }>`select blind_key_id as id from persons union select blind_key_id from flows union select verified_name_key_id from persons where verified_name_key_id is not null`.execute(
    ex,
  );
  return r.rows.map((row) => row.id);
}

/** Persons no recompute can move onto `keyId`: erased under another key, or verified under a name no longer held. */
export function countStranded(ex: Executor, keyId: string): Promise<number> {
  return count(
    ex
      .selectFrom('persons')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where((eb) =>
        eb.or([
          eb.and([eb('blind_key_id', '<>', keyId), eb('erased_at', 'is not', null)]),
          eb.and([
            eb('blind_key_id', '=', keyId),
            eb('verified_name_key_id', 'is not', null),
            eb('verified_name_key_id', '<>', keyId),
          ]),
        ]),
      ),
  );
}
