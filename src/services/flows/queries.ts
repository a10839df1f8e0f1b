import { maskIdNumber, maskMobile, maskName } from '../../domain/identity/index.js';
import { AppError, type FieldError, invalid } from '../../errors.js';
import type { ListedStatus } from '../../store/flow-store.js';
import * as flowStore from '../../store/flow-store.js';
import * as personStore from '../../store/person-store.js';
import type { FlowRow, FlowStatus } from '../../store/schema.js';
import { type AuditActor, recordAudit } from '../audit.js';
import type { ServiceDeps } from '../deps.js';
import { decodeCursor, encodeCursor } from '../page-cursor.js';
import { formatBeijing } from '../time.js';

export type PublicStatus = Exclude<FlowStatus, 'CREATING'>;

/** A pending flow past its expiry reads EXPIRED before the sweep has stored it so. */
export function effectiveStatus(flow: FlowRow, now: number): PublicStatus {
  if (flow.status === 'CREATING') return 'PENDING';
  if (flow.status === 'PENDING' && flow.expire_at !== null && flow.expire_at <= now) return 'EXPIRED';
  return flow.status;
}

/** Our flow ids are UUIDs; anything else cannot name a flow (and PostgreSQL refuses NUL bytes). */
const FLOW_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A flow that exists for callers: reservations (CREATING) are an internal state. */
async function findVisibleFlow(deps: Pick<ServiceDeps, 'store'>, flowId: string) {
  if (!FLOW_ID.test(flowId)) return undefined;
  const flow = await flowStore.findFlowById(deps.store.db, flowId);
  return flow && flow.status !== 'CREATING' ? flow : undefined;
}

export interface FlowView {
  flowId: string;
  status: PublicStatus;
  esignAccountId?: string;
  failReason?: string;
  createdAt: string;
  expire: string;
  openedAt?: string;
  completedAt?: string;
  /** When the person agreed to the face check (on the H5 page, or e签宝 reported its page open). */
  consentAt?: string;
  /** When the personal fields were erased (retention or a deletion request). */
  erasedAt?: string;
  /** Masked: the only form in which personal data leaves the services; ERASED once erased. */
  person: { name: string; idNumber: string; mobile: string };
}

/** What an erased personal field reads as. */
export const ERASED = '已删除';

/** The masked view of one flow, shared by the query API, the sandbox page and the CLI. */
export async function flowView(deps: ServiceDeps, flow: FlowRow): Promise<FlowView> {
  const person = await personStore.findPersonById(deps.store.db, flow.person_id);
  return viewOf(deps, flow, person?.id_number_enc ?? null);
}

/** `flowView` with the person's encrypted ID number already at hand (a listed page loads them together). */
function viewOf(deps: ServiceDeps, flow: FlowRow, idNumberEnc: string | null): FlowView {
  const status = effectiveStatus(flow, deps.now());
  return {
    flowId: flow.id,
    status,
    ...(flow.account_id && status === 'SUCCESS' ? { esignAccountId: flow.account_id } : {}),
    ...(flow.fail_reason ? { failReason: flow.fail_reason } : {}),
    createdAt: formatBeijing(flow.created_at),
    expire: flow.expire_at === null ? '' : formatBeijing(flow.expire_at),
    ...(flow.opened_at !== null ? { openedAt: formatBeijing(flow.opened_at) } : {}),
    ...(flow.completed_at !== null ? { completedAt: formatBeijing(flow.completed_at) } : {}),
    ...(flow.consent_at !== null ? { consentAt: formatBeijing(flow.consent_at) } : {}),
    ...(flow.erased_at !== null ? { erasedAt: formatBeijing(flow.erased_at) } : {}),
    person:
      flow.erased_at !== null
        ? { name: ERASED, idNumber: ERASED, mobile: ERASED }
        : {
            name: maskName(deps.cipher.decrypt(flow.name_enc)),
            // A person is erased only when none of their flows holds data; a new flow refills them.
            idNumber: idNumberEnc ? maskIdNumber(deps.cipher.decrypt(idNumberEnc)) : ERASED,
            mobile: maskMobile(deps.cipher.decrypt(flow.mobile_enc)),
          },
  };
}

/**
 * `GET /esign/api/auth/individual/face/{flowId}`: another client's flow is indistinguishable from a
 * missing one. Every read of a flow's (masked) personal data goes into the audit trail.
 */
export async function getFlowForClient(
  deps: ServiceDeps,
  clientId: string,
  flowId: string,
  requestId?: string,
) {
  const flow = await findVisibleFlow(deps, flowId);
  if (!flow || flow.client_id !== clientId) throw new AppError('not_found');
  const view = await flowView(deps, flow);
  await recordAudit(deps, {
    actor: { kind: 'client', id: clientId },
    action: 'flow.read',
    clientId,
    flowId: flow.id,
    personId: flow.person_id,
    ...(requestId ? { requestId } : {}),
  });
  return view;
}

/** `flow show`: an operator's view of any flow, still masked, and audited. */
export async function showFlow(deps: ServiceDeps, flowId: string, actor: AuditActor) {
  const flow = await findVisibleFlow(deps, flowId);
  if (!flow) throw new AppError('not_found', { detail: `no flow ${flowId}` });
  const view = { ...(await flowView(deps, flow)), clientId: flow.client_id, provider: flow.provider };
  await recordAudit(deps, {
    actor,
    action: 'flow.read',
    clientId: flow.client_id,
    flowId: flow.id,
    personId: flow.person_id,
  });
  return view;
}

/** The page the person's browser returns to after the face check. */
export async function getResultPage(deps: ServiceDeps, flowId: string): Promise<PublicStatus | null> {
  const flow = await findVisibleFlow(deps, flowId);
  return flow ? effectiveStatus(flow, deps.now()) : null;
}

const LISTED_STATUSES: readonly ListedStatus[] = ['PENDING', 'SUCCESS', 'FAILED', 'EXPIRED', 'SUPERSEDED'];
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export interface FlowListParams {
  status?: string;
  since?: string;
  until?: string;
  cursor?: string;
  limit?: string;
}

/**
 * `GET /esign/api/auth/individual/face`: a client's own flows, newest first, in the same shape as
 * the single query, so a client can reconcile after its own outage. `nextCursor` continues the
 * listing where this page ended (null on the last page); flows created meanwhile never shift it.
 */
export async function listFlowsForClient(
  deps: ServiceDeps,
  clientId: string,
  params: FlowListParams,
  requestId?: string,
) {
  const errors: FieldError[] = [];
  const status = params.status;
  if (status !== undefined && !(LISTED_STATUSES as readonly string[]).includes(status)) {
    errors.push({ field: 'status', code: 'ENUM', message: `status 须为 ${LISTED_STATUSES.join('、')} 之一` });
  }
  const time = (field: 'since' | 'until'): number | undefined => {
    if (params[field] === undefined) return undefined;
    // `?since=2026-11-28T00:00:00+08:00` typed into a URL as is: the query string turns `+` into a space.
    const raw = params[field].replace(/ (\d{2}:\d{2})$/, '+$1');
    const ms = ISO_WITH_OFFSET.test(raw) ? Date.parse(raw) : Number.NaN;
    if (Number.isNaN(ms)) {
      errors.push({
        field,
        code: 'DATE_FORMAT',
        message: `${field} 须为带时区的 ISO 8601 时间，例如 2026-11-28T00:00:00+08:00`,
      });
    }
    return ms;
  };
  const since = time('since');
  const until = time('until');
  let limit = DEFAULT_PAGE_SIZE;
  if (params.limit !== undefined) {
    limit = /^\d{1,3}$/.test(params.limit) ? Number(params.limit) : 0;
    if (limit < 1 || limit > MAX_PAGE_SIZE) {
      errors.push({ field: 'limit', code: 'RANGE', message: `limit 须为1–${MAX_PAGE_SIZE}的整数` });
    }
  }
  const after = params.cursor === undefined ? undefined : decodeCursor(params.cursor);
  if (after === null)
    errors.push({ field: 'cursor', code: 'CURSOR', message: 'cursor 无效，请使用上一页返回的 nextCursor' });
  if (errors.length > 0) throw invalid(errors);

  const rows = await flowStore.listClientFlows(deps.store.db, {
    clientId,
    ...(status === undefined ? {} : { status: status as ListedStatus }),
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
    ...(after ? { after } : {}),
    now: deps.now(),
    // One more than asked tells whether another page follows.
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  // A page of (masked) personal data read: one audit event naming how many flows it showed.
  if (page.length > 0) {
    await recordAudit(deps, {
      actor: { kind: 'client', id: clientId },
      action: 'flow.list',
      clientId,
      ...(requestId ? { requestId } : {}),
      detail: { flows: page.length },
    });
  }
  return {
    items: page.map((row) => viewOf(deps, row, row.id_number_enc)),
    nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
  };
}
