/**
 * `Idempotency-Key` on the face POST: a client retrying after a timeout gets the first answer
 * again instead of a second billed flow. Keys are per client and live 24 hours. The key row is
 * claimed with an insert, so two processes (or two requests in one) cannot both run the request.
 *
 * Only successful answers are stored. A request that failed (bad input, rate limit, e签宝 down)
 * releases its key, so retrying with the same key does the work the first attempt could not.
 */
import { AppError, invalid } from '../errors.js';
import { isUniqueViolation } from '../store/db.js';
import * as idempotencyStore from '../store/idempotency-store.js';
import type { ServiceDeps } from './deps.js';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
const KEY_TTL_MS = 24 * 60 * 60 * 1000;
/** A running claim older than this belongs to a process that died mid-request; it may be taken over. */
const ABANDONED_AFTER_MS = 2 * 60 * 1000;
const MAX_KEY_LENGTH = 64;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

type Deps = Pick<ServiceDeps, 'store' | 'now' | 'cipher'>;

export interface Idempotent<T> {
  result: T;
  replayed: boolean;
}

/**
 * How a result is kept with its key and rebuilt for a replay. What is kept should be the least
 * that rebuilds the answer (ids, not links or personal data); `personId` lets an erasure request
 * delete the keys that concern the person.
 */
export interface IdempotencyCodec<T> {
  save(result: T): { body: string; personId: string | null };
  load(body: string, personId: string | null): Promise<T>;
}

/** Checks the header's value; `undefined` (no header) means the request is not idempotent. */
export function checkIdempotencyKey(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const key = Array.isArray(value) ? null : value;
  const error = (code: string, message: string) => invalid([{ field: IDEMPOTENCY_HEADER, code, message }]);
  if (key === null) throw error('KEY_FORMAT', 'Idempotency-Key 只能出现一次');
  if (key.length > MAX_KEY_LENGTH) throw error('TOO_LONG', 'Idempotency-Key 不能超过64个字符');
  if (!PRINTABLE_ASCII.test(key)) throw error('KEY_FORMAT', 'Idempotency-Key 须为1–64个可打印ASCII字符');
  return key;
}

/**
 * Runs `run` once per (client, key): the same key with the same request within 24 hours answers
 * the stored result (`replayed: true`); with another request → 400 `IDEMPOTENCY_MISMATCH`; while
 * the first is still running → 409.
 */
export async function runIdempotent<T>(
  deps: Deps,
  clientId: string,
  key: string,
  request: unknown,
  codec: IdempotencyCodec<T>,
  run: () => Promise<T>,
): Promise<Idempotent<T>> {
  const db = deps.store.db;
  // Keyed digest: the request holds personal data, which a plain hash would not protect.
  // Under every blind-index key held: a retry shortly after a rotation still matches its first try.
  // Stored hashes are not recomputed on rotation: they expire within 24 hours.
  const requestHashes = deps.cipher.blindIndexes('idempotency-request', JSON.stringify(request));
  const requestHash = requestHashes[0] as string;
  let claimed: idempotencyStore.IdempotencyRow | null = null;
  for (let attempt = 0; attempt < 3 && claimed === null; attempt++) {
    const now = deps.now();
    const row: idempotencyStore.IdempotencyRow = {
      client_id: clientId,
      key,
      request_hash: requestHash,
      status: 'RUNNING',
      response_status: null,
      response_body: null,
      person_id: null,
      created_at: now,
      expires_at: now + KEY_TTL_MS,
    };
    try {
      await idempotencyStore.insertIdempotencyKey(db, row);
      claimed = row;
      break;
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
    const existing = await idempotencyStore.findIdempotencyKey(db, clientId, key);
    if (!existing) continue;
    const expired = existing.expires_at <= now;
    const abandoned = existing.status === 'RUNNING' && existing.created_at <= now - ABANDONED_AFTER_MS;
    if (expired || abandoned) {
      await idempotencyStore.deleteIdempotencyKey(db, existing);
      continue;
    }
    if (!requestHashes.includes(existing.request_hash)) {
      throw invalid([
        {
          field: IDEMPOTENCY_HEADER,
          code: 'IDEMPOTENCY_MISMATCH',
          message: '该 Idempotency-Key 已用于内容不同的请求，请为新请求使用新的 Idempotency-Key',
        },
      ]);
    }
    if (existing.status === 'RUNNING') {
      throw new AppError('conflict', { userMessage: '相同 Idempotency-Key 的请求正在处理中，请稍后重试' });
    }
    return { result: await codec.load(existing.response_body ?? 'null', existing.person_id), replayed: true };
  }
  if (claimed === null) {
    throw new AppError('conflict', { userMessage: '相同 Idempotency-Key 的请求正在处理中，请稍后重试' });
  }

  let result: T;
  try {
    result = await run();
  } catch (err) {
    // Best effort: the caller must see the request's own error, and a claim that could not be
    // released is taken over once abandoned (ABANDONED_AFTER_MS).
    await idempotencyStore.deleteIdempotencyKey(db, claimed).catch(() => false);
    throw err;
  }
  await idempotencyStore.completeIdempotencyKey(db, claimed, { status: 200, ...codec.save(result) });
  return { result, replayed: false };
}

/** Housekeeping for the expiry sweep: keys past their 24 hours are only ever replaced, never read. */
export function forgetExpiredIdempotencyKeys(deps: Pick<ServiceDeps, 'store' | 'now'>): Promise<number> {
  return idempotencyStore.deleteExpiredIdempotencyKeys(deps.store.db, deps.now());
}
