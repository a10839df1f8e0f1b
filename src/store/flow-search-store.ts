import type { Executor } from './db.js';
import type { FlowRow, FlowStatus, PersonRow } from './schema.js';

export interface FlowSearch {
  flowId?: string;
  personId?: string;
  /** The mobile's digest under each blind-index key held. */
  mobileIndexes?: string[];
  clientId?: string;
  status?: FlowStatus;
  /** created_at in `[from, until)`. */
  from?: number;
  until?: number;
  /** Keyset cursor: flows strictly older than this (created_at, id) pair. */
  before?: { createdAt: number; id: string };
  limit: number;
}

export type FlowWithClient = FlowRow & { client_name: string };

/** Flows newest first (reservations never), with their client's name. */
export function searchFlows(ex: Executor, f: FlowSearch): Promise<FlowWithClient[]> {
  let q = ex
    .selectFrom('flows')
    .innerJoin('clients', 'clients.id', 'flows.client_id')
    .selectAll('flows')
    .select('clients.name as client_name')
    .where('flows.status', '!=', 'CREATING');
  if (f.flowId !== undefined) q = q.where('flows.id', '=', f.flowId);
  if (f.personId !== undefined) q = q.where('flows.person_id', '=', f.personId);
  if (f.mobileIndexes !== undefined) q = q.where('flows.mobile_index', 'in', f.mobileIndexes);
  if (f.clientId !== undefined) q = q.where('flows.client_id', '=', f.clientId);
  if (f.status !== undefined) q = q.where('flows.status', '=', f.status);
  if (f.from !== undefined) q = q.where('flows.created_at', '>=', f.from);
  if (f.until !== undefined) q = q.where('flows.created_at', '<', f.until);
  const before = f.before;
  if (before) {
    q = q.where((eb) =>
      eb.or([
        eb('flows.created_at', '<', before.createdAt),
        eb.and([eb('flows.created_at', '=', before.createdAt), eb('flows.id', '<', before.id)]),
      ]),
    );
  }
  return q.orderBy('flows.created_at', 'desc').orderBy('flows.id', 'desc').limit(f.limit).execute();
}

export function findPersonsByIds(ex: Executor, ids: readonly string[]): Promise<PersonRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return ex
    .selectFrom('persons')
    .selectAll()
    .where('id', 'in', [...ids])
    .execute();
}
