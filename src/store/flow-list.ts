import type { Executor } from './db.js';
import type { FlowRow } from './schema.js';

export type ListedStatus = 'PENDING' | 'SUCCESS' | 'FAILED' | 'EXPIRED' | 'SUPERSEDED';

export interface FlowListQuery {
  clientId: string;
  /** A status as clients see it: a pending flow past its expiry already reads EXPIRED. */
  status?: ListedStatus;
  /** created_at ≥ since, < until (ms). */
  since?: number;
  until?: number;
  /** Continue after this (created_at, id), newest first. */
  after?: { createdAt: number; id: string };
  now: number;
  limit: number;
}

export type ListedFlow = FlowRow & { id_number_enc: string | null };

/**
 * One page of a client's flows, newest first by (created_at, id) — a key that never changes, so
 * a cursor stays valid while new flows arrive. The person's ID number comes along (for masking)
 * so the page costs one query. CREATING reservations are not flows yet and never listed.
 */
export function listClientFlows(ex: Executor, q: FlowListQuery): Promise<ListedFlow[]> {
  let query = ex
    .selectFrom('flows')
    .leftJoin('persons', 'persons.id', 'flows.person_id')
    .selectAll('flows')
    .select('persons.id_number_enc')
    .where('flows.client_id', '=', q.clientId)
    .where('flows.status', '!=', 'CREATING');
  if (q.status === 'PENDING') {
    query = query
      .where('flows.status', '=', 'PENDING')
      .where((eb) => eb.or([eb('flows.expire_at', 'is', null), eb('flows.expire_at', '>', q.now)]));
  } else if (q.status === 'EXPIRED') {
    query = query.where((eb) =>
      eb.or([
        eb('flows.status', '=', 'EXPIRED'),
        eb.and([eb('flows.status', '=', 'PENDING'), eb('flows.expire_at', '<=', q.now)]),
      ]),
    );
  } else if (q.status) {
    query = query.where('flows.status', '=', q.status);
  }
  if (q.since !== undefined) query = query.where('flows.created_at', '>=', q.since);
  if (q.until !== undefined) query = query.where('flows.created_at', '<', q.until);
  const after = q.after;
  if (after) {
    query = query.where((eb) =>
      eb.or([
        eb('flows.created_at', '<', after.createdAt),
        eb.and([eb('flows.created_at', '=', after.createdAt), eb('flows.id', '<', after.id)]),
      ]),
    );
  }
  return query.orderBy('flows.created_at', 'desc').orderBy('flows.id', 'desc').limit(q.limit).execute();
}
