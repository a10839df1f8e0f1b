import type { Insertable } from 'kysely';
import { randomBase62, uuidv7 } from '../../crypto/random.js';
import type { ValidatedPerson } from '../../domain/identity/index.js';
import { AppError } from '../../errors.js';
import * as flowStore from '../../store/flow-store.js';
import * as lifecycleStore from '../../store/lifecycle-store.js';
import * as personStore from '../../store/person-store.js';
import type { FlowRow, PersonRow, PersonsTable } from '../../store/schema.js';
import type { ServiceDeps } from '../deps.js';
import { type IdempotencyCodec, type Idempotent, runIdempotent } from '../idempotency.js';
import { DAY, enforce, hit, peek } from '../rate-limits.js';
import { formatBeijing, sleep } from '../time.js';
import { originalUrlOf, sealShortCode, shortCodeOf } from './links.js';
import { STALE_RESERVATION_MS } from './reconcile.js';

/** A pending link is handed out again only while it has at least this long left. */
export const REUSE_MIN_REMAINING_MS = 5 * 60_000;
const SHORT_CODE_LENGTH = 12;

export type FaceStartResult = (
  | { outcome: 'verified'; esignAccountId: string }
  | {
      outcome: 'reused' | 'created';
      flowId: string;
      authUrl: string;
      originalUrl: string;
      expire: string;
      esignAccountId: string | null;
    }
) & {
  /** Whom it concerns: never answered to the client, kept with an idempotency key for erasure. */
  personId: string;
};

type Decision =
  | { kind: 'reuse'; flow: FlowRow }
  | { kind: 'wait'; person: PersonRow }
  | { kind: 'reserved'; flow: FlowRow; person: PersonRow };

/** A person not in the database yet: inserted in the same transaction as its first reservation. */
interface NewPerson {
  idIndexes: string[];
  make: (idIndex: string) => Insertable<PersonsTable>;
}

/** The digests of one request, all under the blind-index key that was active when it began. */
interface Digests {
  keyId: string;
  name: string;
  fingerprint: string;
  /** Under every key held: a pending flow made before a blind-index rotation has the old key's. */
  fingerprints: string[];
}

/** The rate-limit key of a client's new flows for a person (also reset by `person unblock`). */
export const newFlowLimitKey = (clientId: string, personId: string) => `person:${clientId}:${personId}`;

/**
 * Starts face authentication, or answers from what is known: verified persons and still-valid
 * identical requests never reach the (billed) provider. Concurrent identical requests, in this
 * process or any other on the same database, produce one provider call: the unique CREATING
 * reservation decides who calls, the others wait for its link.
 */
export async function startFaceAuth(
  deps: ServiceDeps,
  clientId: string,
  p: ValidatedPerson,
): Promise<FaceStartResult> {
  const { cipher, store } = deps;
  const keyId = cipher.blindKeyId;
  const request = [clientId, p.name, p.idNumber, p.mobile, p.validPeriod].join('\u0000');
  const fingerprints = cipher.blindIndexes('request', request);
  const digests: Digests = {
    keyId,
    name: cipher.blindIndex('name', p.name, keyId),
    fingerprint: fingerprints[0] as string,
    fingerprints,
  };

  const idIndexes = cipher.blindIndexes('id', p.idNumber);
  // A known person costs one read; a new one has no flows to look at and is written together with
  // its first reservation: one transaction, not two.
  let person: PersonRow | NewPerson = (await personStore.findPersonByIdIndex(store.db, idIndexes)) ?? {
    idIndexes,
    make: (index) => ({
      id: uuidv7(),
      id_index: index,
      blind_key_id: keyId,
      name_enc: cipher.encrypt(p.name),
      id_number_enc: cipher.encrypt(p.idNumber),
      id_kind: p.idKind,
      account_id: null,
      verified_at: null,
      verified_name_index: null,
      created_at: deps.now(),
      erased_at: null,
    }),
  };

  const waitUntil = deps.now() + waitBudgetMs(deps);
  for (let attempt = 0; ; attempt++) {
    if ('id' in person) {
      if (person.verified_at !== null && person.account_id && verifiedAs(deps, person, p.name)) {
        return verified(deps, clientId, person.id, person.account_id);
      }
      // The common repeat (same link again) needs one read and no transaction.
      const reusable = findReusable(
        await flowStore.findLiveFlows(store.db, clientId, person.id),
        fingerprints,
        deps.now(),
      );
      if (reusable) return present(deps, 'reused', reusable);
    }
    const decision = await decide(deps, clientId, person, p, digests);
    if (decision.kind === 'reuse') return present(deps, 'reused', decision.flow);
    if (decision.kind === 'reserved') {
      return callProvider(deps, decision.person, p, decision.flow, digests);
    }
    person = decision.person;
    if (deps.now() > waitUntil) {
      throw new AppError('conflict', {
        detail: 'gave up waiting for a concurrent request for the same person',
      });
    }
    await sleep(Math.min(10 * 1.5 ** attempt, 200));
    person = (await personStore.findPersonById(store.db, decision.person.id)) ?? decision.person;
  }
}

/** The verified name's digest is under the key it was made with, which may not be the active one. */
function verifiedAs(deps: ServiceDeps, person: PersonRow, name: string): boolean {
  const keyId = person.verified_name_key_id;
  return (
    keyId !== null &&
    deps.cipher.hasBlindKey(keyId) &&
    person.verified_name_index === deps.cipher.blindIndex('name', name, keyId)
  );
}

function waitBudgetMs(deps: ServiceDeps): number {
  const upstream = deps.config.esign ? deps.config.esign.requestTimeoutMs * 2 : 5000;
  return upstream + 5000;
}

async function decide(
  deps: ServiceDeps,
  clientId: string,
  known: PersonRow | NewPerson,
  p: ValidatedPerson,
  digests: Digests,
): Promise<Decision> {
  const now = deps.now();
  const fields: Omit<FlowRow, 'person_id'> = {
    id: uuidv7(),
    client_id: clientId,
    provider: deps.provider.name,
    provider_flow_id: null,
    status: 'CREATING',
    fingerprint: digests.fingerprint,
    ...sealShortCode(deps.cipher, randomBase62(SHORT_CODE_LENGTH), digests.keyId),
    original_url: null,
    expire_at: null,
    name_enc: deps.cipher.encrypt(p.name),
    mobile_enc: deps.cipher.encrypt(p.mobile),
    valid_period_enc: deps.cipher.encrypt(p.validPeriod),
    account_id: null,
    fail_reason: null,
    created_at: now,
    updated_at: now,
    opened_at: null,
    completed_at: null,
    reconcile_due_at: null,
    consent_at: null,
    consent_text_hash: null,
    consent_lang: null,
    erased_at: null,
    mobile_index: deps.cipher.blindIndex('mobile', p.mobile, digests.keyId),
    blind_key_id: digests.keyId,
  };
  return deps.store.db.transaction().execute(async (trx) => {
    // A concurrent request may have inserted the person since our read: the upsert reads first.
    const person = 'id' in known ? known : await personStore.upsertPerson(trx, known.idIndexes, known.make);
    const row: FlowRow = { ...fields, person_id: person.id };
    if (!(await flowStore.tryReserveFlow(trx, row))) {
      // Someone holds the reservation: take it over only when its request died mid-call.
      const stale = await flowStore.deleteStaleReservation(
        trx,
        clientId,
        person.id,
        now - STALE_RESERVATION_MS,
      );
      if (!stale || !(await flowStore.tryReserveFlow(trx, row))) return { kind: 'wait', person };
    }
    // Our first read may predate a concurrent request that reserved, called the provider and
    // activated its flow before our insert: holding the reservation now, read again.
    const reusable = findReusable(
      await flowStore.findLiveFlows(trx, clientId, person.id),
      digests.fingerprints,
      now,
    );
    if (reusable) {
      await flowStore.deleteReservation(trx, row.id);
      return { kind: 'reuse', flow: reusable };
    }
    // Retention or a deletion request may have erased the person's name and ID number since no
    // flow needed them; this one does. (A no-op UPDATE for a person who was never erased; a person
    // inserted just now by this transaction was not.)
    if ('id' in known) {
      await lifecycleStore.refillPerson(trx, person.id, {
        name_enc: deps.cipher.encrypt(p.name),
        id_number_enc: deps.cipher.encrypt(p.idNumber),
      });
    }
    return { kind: 'reserved', flow: row, person };
  });
}

function findReusable(live: FlowRow[], fingerprints: string[], now: number): FlowRow | undefined {
  return live.find(
    (f) =>
      f.status === 'PENDING' &&
      fingerprints.includes(f.fingerprint) &&
      f.expire_at !== null &&
      f.expire_at - now >= REUSE_MIN_REMAINING_MS,
  );
}

async function callProvider(
  deps: ServiceDeps,
  person: PersonRow,
  p: ValidatedPerson,
  reservation: FlowRow,
  digests: Digests,
): Promise<FaceStartResult> {
  const base = deps.config.publicBaseUrl;
  let result: Awaited<ReturnType<ServiceDeps['provider']['startFace']>>;
  try {
    await enforceNewFlowLimits(deps, reservation.client_id, person.id);
    result = await deps.provider.startFace({
      flowId: reservation.id,
      person: {
        personKey: person.id,
        name: p.name,
        idNumber: p.idNumber,
        mobile: p.mobile,
        idKind: p.idKind,
        accountId: person.account_id,
      },
      notifyUrl: `${base}/esign/callbacks/esign`,
      callbackUrl: `${base}/h5/result/${reservation.id}`,
    });
  } catch (err) {
    await flowStore.deleteReservation(deps.store.db, reservation.id);
    throw err;
  }

  const now = deps.now();
  if (result.kind === 'already-verified') {
    const accountId = result.accountId;
    await deps.store.db.transaction().execute(async (trx) => {
      await personStore.markPersonVerified(trx, person.id, {
        accountId,
        nameIndex: digests.name,
        nameKeyId: digests.keyId,
        at: now,
      });
      await flowStore.deleteReservation(trx, reservation.id);
    });
    return verified(deps, reservation.client_id, person.id, accountId);
  }

  const flow: FlowRow = {
    ...reservation,
    status: 'PENDING',
    provider_flow_id: result.providerFlowId,
    original_url: deps.cipher.encrypt(result.originalUrl),
    expire_at: result.expireAt.getTime(),
    account_id: result.accountId,
    updated_at: now,
  };
  await deps.store.db.transaction().execute(async (trx) => {
    const activated = await flowStore.transitionFlow(trx, reservation.id, ['CREATING'], 'PENDING', {
      provider_flow_id: flow.provider_flow_id,
      original_url: flow.original_url,
      expire_at: flow.expire_at,
      account_id: flow.account_id,
      updated_at: now,
    });
    if (!activated) {
      // An erasure (or a takeover of a reservation presumed dead) ended it meanwhile: the caller
      // may simply ask again, so this is a conflict, not a fault of ours.
      throw new AppError('conflict', {
        userMessage: '该认证请求在处理期间已被撤销，请重新发起',
        detail: 'flow reservation ended while the provider was called',
      });
    }
    await flowStore.supersedePending(trx, reservation.client_id, person.id, reservation.id, now);
    if (result.accountId && result.accountId !== person.account_id) {
      await personStore.setPersonAccount(trx, person.id, result.accountId);
    }
  });
  return present(deps, 'created', flow);
}

const NEW_FLOWS_MESSAGE = '该用户发起认证次数过多，请24小时后再试';

/**
 * Billed flows per person are capped; only a new flow counts, not reuse or verified. The cap is
 * per client (one client cannot lock a person out of the others); the optional cap over all
 * clients is checked first and counted last, so a refusal by either leaves the other untouched.
 */
async function enforceNewFlowLimits(deps: ServiceDeps, clientId: string, personId: string): Promise<void> {
  const { newFlowsPerPerson, newFlowsPerPersonAllClients: allClients } = deps.config.rateLimits;
  const globalKey = `person-all:${personId}`;
  if (allClients > 0) {
    const d = await peek(deps, globalKey, allClients, DAY);
    if (!d.allowed) {
      throw new AppError('rate_limited', {
        retryAfter: d.retryAfterSec,
        detail: 'rate limit person-all exceeded',
        userMessage: NEW_FLOWS_MESSAGE,
      });
    }
  }
  await enforce(deps, newFlowLimitKey(clientId, personId), newFlowsPerPerson, DAY, NEW_FLOWS_MESSAGE);
  if (allClients > 0) await hit(deps, globalKey, allClients, DAY);
}

function verified(deps: ServiceDeps, clientId: string, personId: string, accountId: string): FaceStartResult {
  deps.eventStats.count(clientId, 'req.verified');
  return { outcome: 'verified', esignAccountId: accountId, personId };
}

function present(deps: ServiceDeps, outcome: 'reused' | 'created', flow: FlowRow): FaceStartResult {
  if (outcome === 'reused') deps.eventStats.count(flow.client_id, 'req.reused');
  return linksOf(deps, outcome, flow, flow.account_id);
}

function linksOf(
  deps: ServiceDeps,
  outcome: 'reused' | 'created',
  flow: FlowRow,
  esignAccountId: string | null,
): FaceStartResult {
  // An erased flow has ended and its links with it (they answer 410).
  const erased = flow.erased_at !== null;
  return {
    outcome,
    flowId: flow.id,
    authUrl: erased ? '' : `${deps.config.publicBaseUrl}/s/${shortCodeOf(deps.cipher, flow)}`,
    originalUrl: erased ? '' : (originalUrlOf(deps.cipher, flow) ?? ''),
    expire: flow.expire_at === null ? '' : formatBeijing(flow.expire_at),
    esignAccountId,
    personId: flow.person_id,
  };
}

/**
 * What an idempotency key keeps of an answer: no link (both are capabilities, stored only sealed
 * with the flow), only what rebuilds the same answer from the flow row.
 */
type Kept =
  | { outcome: 'verified'; esignAccountId: string }
  | { outcome: 'reused' | 'created'; flowId: string; esignAccountId: string | null };

const faceStartCodec = (deps: ServiceDeps): IdempotencyCodec<FaceStartResult> => ({
  save(r) {
    const kept: Kept =
      r.outcome === 'verified'
        ? { outcome: r.outcome, esignAccountId: r.esignAccountId }
        : { outcome: r.outcome, flowId: r.flowId, esignAccountId: r.esignAccountId };
    return { body: JSON.stringify(kept), personId: r.personId };
  },
  async load(body, personId) {
    const kept = JSON.parse(body) as Kept;
    if (kept.outcome === 'verified') return { ...kept, personId: personId ?? '' };
    const flow = await flowStore.findFlowById(deps.store.db, kept.flowId);
    if (!flow) throw new Error('an idempotency key names a flow that does not exist');
    return linksOf(deps, kept.outcome, flow, kept.esignAccountId);
  },
});

/**
 * `startFaceAuth` under an optional `Idempotency-Key`: a retry with the same key and the same
 * person answers the first result again (`replayed`) instead of doing the work twice.
 */
export async function startFaceAuthOnce(
  deps: ServiceDeps,
  clientId: string,
  p: ValidatedPerson,
  idempotencyKey: string | undefined,
): Promise<Idempotent<FaceStartResult>> {
  if (idempotencyKey === undefined)
    return { result: await startFaceAuth(deps, clientId, p), replayed: false };
  return runIdempotent(deps, clientId, idempotencyKey, p, faceStartCodec(deps), () =>
    startFaceAuth(deps, clientId, p),
  );
}
