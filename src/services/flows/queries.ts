import { maskIdNumber, maskMobile, maskName } from '../../domain/identity/index.js';
import { AppError } from '../../errors.js';
import * as flowStore from '../../store/flow-store.js';
import * as personStore from '../../store/person-store.js';
import type { FlowRow, FlowStatus } from '../../store/schema.js';
import type { ServiceDeps } from '../deps.js';
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
  /** Masked: the only form in which personal data leaves the services. */
  person: { name: string; idNumber: string; mobile: string };
}

/** The masked view of one flow, shared by the query API, the sandbox page and the CLI. */
export async function flowView(deps: ServiceDeps, flow: FlowRow): Promise<FlowView> {
  const person = await personStore.findPersonById(deps.store.db, flow.person_id);
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
    person: {
      name: maskName(deps.cipher.decrypt(flow.name_enc)),
      idNumber: person ? maskIdNumber(deps.cipher.decrypt(person.id_number_enc)) : '',
      mobile: maskMobile(deps.cipher.decrypt(flow.mobile_enc)),
    },
  };
}

/** `GET /esign/api/auth/individual/face/{flowId}`: another client's flow is indistinguishable from a missing one. */
export async function getFlowForClient(deps: ServiceDeps, clientId: string, flowId: string) {
  const flow = await findVisibleFlow(deps, flowId);
  if (!flow || flow.client_id !== clientId) throw new AppError('not_found');
  return flowView(deps, flow);
}

/** `flow show`: an operator's view of any flow, still masked. */
export async function showFlow(deps: ServiceDeps, flowId: string) {
  const flow = await findVisibleFlow(deps, flowId);
  if (!flow) throw new AppError('not_found', { detail: `no flow ${flowId}` });
  return { ...(await flowView(deps, flow)), clientId: flow.client_id, provider: flow.provider };
}

/** The page the person's browser returns to after the face check. */
export async function getResultPage(deps: ServiceDeps, flowId: string): Promise<PublicStatus | null> {
  const flow = await findVisibleFlow(deps, flowId);
  return flow ? effectiveStatus(flow, deps.now()) : null;
}
