import {
  maskIdNumber,
  maskMobile,
  maskName,
  normalizeIdNumber,
  normalizeMobile,
} from '../../domain/identity/index.js';
import { AppError, invalid } from '../../errors.js';
import * as deliveryStore from '../../store/delivery-store.js';
import * as flowSearchStore from '../../store/flow-search-store.js';
import * as personStore from '../../store/person-store.js';
import type { DeliveryRow, FlowRow, FlowStatus, PersonRow } from '../../store/schema.js';
import { type AuditActor, recordAudit } from '../audit.js';
import type { ServiceDeps } from '../deps.js';
import { effectiveStatus } from '../flows/queries.js';
import { encodeCursor, positionOf } from '../page-cursor.js';
import { formatBeijing } from '../time.js';

type Deps = Pick<ServiceDeps, 'store' | 'cipher' | 'now'>;
type Actor = AuditActor;

const FLOW_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const time = (ms: number | null) => (ms === null ? null : formatBeijing(ms));
/** The smallest reason that says something ("核对身份" is four). */
export const MIN_REASON_LENGTH = 4;

/** A stored ciphertext, decrypted and masked; erased values (issue 11) read as such. */
function masked(deps: Deps, enc: string | null | undefined, mask: (v: string) => string): string {
  if (!enc) return '（已删除）';
  return mask(deps.cipher.decrypt(enc));
}

function maskedPerson(deps: Deps, flow: FlowRow, person: PersonRow | undefined) {
  return {
    name: masked(deps, flow.name_enc, maskName),
    idNumber: masked(deps, person?.id_number_enc, maskIdNumber),
    mobile: masked(deps, flow.mobile_enc, maskMobile),
  };
}

function summary(deps: Deps, flow: flowSearchStore.FlowWithClient, person: PersonRow | undefined) {
  return {
    flowId: flow.id,
    clientId: flow.client_id,
    clientName: flow.client_name,
    provider: flow.provider,
    status: effectiveStatus(flow, deps.now()),
    createdAt: formatBeijing(flow.created_at),
    openedAt: time(flow.opened_at),
    completedAt: time(flow.completed_at),
    person: maskedPerson(deps, flow, person),
  };
}

export interface FlowQuery {
  flowId?: string;
  idNumber?: string;
  mobile?: string;
  clientId?: string;
  status?: Exclude<FlowStatus, 'CREATING'>;
  from?: string;
  until?: string;
  cursor?: string;
  limit?: string;
}

/**
 * Flows newest first, by flow id, ID number or mobile (exact, through their blind indexes: the
 * values are never stored or logged in clear), client, status and creation time. Searches for a
 * person (ID number, mobile) are recorded in the audit trail.
 */
export async function searchFlows(deps: Deps, actor: Actor, q: FlowQuery, requestId: string) {
  const limit = q.limit === undefined ? 50 : Number(q.limit);
  const filter: flowSearchStore.FlowSearch = { limit: limit + 1 };
  const empty = { items: [], nextCursor: null };
  if (q.flowId !== undefined) {
    if (!FLOW_ID.test(q.flowId)) return empty;
    filter.flowId = q.flowId;
  }
  if (q.idNumber !== undefined) {
    const indexes = deps.cipher.blindIndexes('id', normalizeIdNumber(q.idNumber));
    const person = await personStore.findPersonByIdIndex(deps.store.db, indexes);
    if (!person) {
      await recordAudit(deps, {
        actor,
        action: 'flow.search',
        requestId,
        detail: { by: 'idNumber', found: 0 },
      });
      return empty;
    }
    filter.personId = person.id;
  }
  if (q.mobile !== undefined)
    filter.mobileIndexes = deps.cipher.blindIndexes('mobile', normalizeMobile(q.mobile));
  if (q.clientId !== undefined) filter.clientId = q.clientId;
  if (q.status !== undefined) filter.status = q.status;
  if (q.from !== undefined) filter.from = Date.parse(q.from);
  if (q.until !== undefined) filter.until = Date.parse(q.until);
  if (q.cursor !== undefined) filter.before = positionOf(q.cursor);

  const rows = await flowSearchStore.searchFlows(deps.store.db, filter);
  const page = rows.slice(0, limit);
  const people = new Map(
    (await flowSearchStore.findPersonsByIds(deps.store.db, [...new Set(page.map((f) => f.person_id))])).map(
      (p) => [p.id, p],
    ),
  );
  if (q.idNumber !== undefined || q.mobile !== undefined) {
    await recordAudit(deps, {
      actor,
      action: 'flow.search',
      requestId,
      ...(filter.personId ? { personId: filter.personId } : {}),
      detail: { by: q.idNumber !== undefined ? 'idNumber' : 'mobile', found: page.length },
    });
  }
  const last = page[page.length - 1];
  return {
    items: page.map((f) => summary(deps, f, people.get(f.person_id))),
    nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
  };
}

async function findFlow(deps: Deps, flowId: string): Promise<flowSearchStore.FlowWithClient> {
  if (!FLOW_ID.test(flowId)) throw new AppError('not_found', { userMessage: '认证流程不存在' });
  const [flow] = await flowSearchStore.searchFlows(deps.store.db, { flowId, limit: 1 });
  if (!flow) throw new AppError('not_found', { userMessage: '认证流程不存在' });
  return flow;
}

export function deliveryView(d: DeliveryRow & { client_name: string }) {
  return {
    deliveryId: d.id,
    clientId: d.client_id,
    clientName: d.client_name,
    flowId: d.flow_id ?? '',
    type: d.type,
    status: d.status,
    attempts: d.attempts,
    lastAttemptAt: time(d.last_attempt_at),
    lastStatus: d.last_status,
    lastError: d.last_error,
    nextAttemptAt: d.status === 'PENDING' ? time(d.next_attempt_at) : null,
    createdAt: formatBeijing(d.created_at),
    deliveredAt: time(d.delivered_at),
  };
}

/** One flow's whole story, masked: creation, first open, result, every notification attempt. */
export async function getFlowDetail(deps: Deps, actor: Actor, flowId: string, requestId: string) {
  const flow = await findFlow(deps, flowId);
  const person = await personStore.findPersonById(deps.store.db, flow.person_id);
  const delivery = await deliveryStore.findDeliveryByFlow(deps.store.db, flow.id);
  const attempts = delivery ? await deliveryStore.listAttempts(deps.store.db, delivery.id) : [];
  const status = effectiveStatus(flow, deps.now());

  type Event = { at: number; kind: string } & Record<string, unknown>;
  const events: Event[] = [{ at: flow.created_at, kind: 'created' }];
  if (flow.opened_at !== null) events.push({ at: flow.opened_at, kind: 'opened' });
  if (status !== 'PENDING') {
    // EXPIRED may be only effective (the sweep has not stored it): then it happened at expiry.
    const at =
      flow.completed_at ??
      (flow.status === 'PENDING' ? (flow.expire_at ?? flow.updated_at) : flow.updated_at);
    events.push({
      at,
      kind: 'result',
      status,
      ...(flow.fail_reason ? { failReason: flow.fail_reason } : {}),
    });
  }
  for (const a of attempts) {
    events.push({
      at: a.at,
      kind: 'delivery_attempt',
      deliveryId: a.delivery_id,
      attempt: Math.max(1, a.attempt),
      httpStatus: a.http_status,
      latencyMs: a.latency_ms,
      ...(a.error ? { error: a.error } : {}),
    });
  }
  events.sort((a, b) => a.at - b.at);

  await recordAudit(deps, {
    actor,
    action: 'flow.read',
    flowId: flow.id,
    clientId: flow.client_id,
    personId: flow.person_id,
    requestId,
  });
  return {
    flow: {
      ...summary(deps, flow, person),
      providerFlowId: flow.provider_flow_id,
      expire: time(flow.expire_at),
      esignAccountId: status === 'SUCCESS' ? flow.account_id : null,
      failReason: flow.fail_reason,
    },
    timeline: events.map(({ at, ...rest }) => ({ at: formatBeijing(at), ...rest })),
    deliveries: delivery ? [deliveryView({ ...delivery, client_name: flow.client_name })] : [],
  };
}

/**
 * The clear personal data of one flow, for an admin who gives a reason. The reveal is written to
 * the audit trail first: if that fails, nothing is shown.
 */
export async function revealFlow(
  deps: Deps,
  actor: Actor,
  flowId: string,
  reason: string,
  requestId: string,
) {
  const why = reason.trim();
  if ([...why].length < MIN_REASON_LENGTH) {
    throw invalid([
      { field: 'reason', code: 'TOO_SHORT', message: `请填写查看原因（至少${MIN_REASON_LENGTH}个字）` },
    ]);
  }
  const flow = await findFlow(deps, flowId);
  const person = await personStore.findPersonById(deps.store.db, flow.person_id);
  await recordAudit(deps, {
    actor,
    action: 'flow.reveal',
    flowId: flow.id,
    clientId: flow.client_id,
    personId: flow.person_id,
    reason: why,
    requestId,
  });
  const clear = (enc: string | null | undefined) => (enc ? deps.cipher.decrypt(enc) : '（已删除）');
  return {
    name: clear(flow.name_enc),
    idNumber: clear(person?.id_number_enc),
    mobile: clear(flow.mobile_enc),
    validPeriod: clear(flow.valid_period_enc),
  };
}
