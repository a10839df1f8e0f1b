import { randomBase62 } from '../../crypto/random.js';
import * as clientStore from '../../store/client-store.js';
import type { Executor } from '../../store/db.js';
import * as deliveryStore from '../../store/delivery-store.js';
import type { FlowRow } from '../../store/schema.js';
import type { ServiceDeps } from '../deps.js';
import { formatBeijing } from '../time.js';
import { canDeliver } from './endpoint.js';

export type FinalStatus = 'SUCCESS' | 'FAILED' | 'EXPIRED';

const TYPES: Record<FinalStatus, string> = {
  SUCCESS: 'face_auth.success',
  FAILED: 'face_auth.failed',
  EXPIRED: 'face_auth.expired',
};

/** The body a client receives; it holds no personal data, only the flow's outcome. */
export interface FlowNotification {
  type: string;
  flowId: string;
  status: FinalStatus;
  esignAccountId?: string;
  failReason?: string;
  occurredAt: string;
}

/**
 * Spreads retries of many deliveries that failed together (an outage at the receiver) over ±20% of
 * the scheduled delay, so they do not all come back in the same second.
 */
export function withJitter(ms: number, random: () => number = Math.random): number {
  return Math.round(ms * (0.8 + 0.4 * random()));
}

export function flowNotification(
  flow: Pick<FlowRow, 'id' | 'account_id' | 'fail_reason'>,
  status: FinalStatus,
  at: number,
): FlowNotification {
  return {
    type: TYPES[status],
    flowId: flow.id,
    status,
    ...(status === 'SUCCESS' && flow.account_id ? { esignAccountId: flow.account_id } : {}),
    ...(status === 'FAILED' && flow.fail_reason ? { failReason: flow.fail_reason } : {}),
    occurredAt: formatBeijing(at),
  };
}

/**
 * Writes the outbox row for a flow that has just reached a final status. It must run inside the
 * transaction of that status change: then a crash either loses both or keeps both, and the
 * dispatcher (in any process, after any restart) delivers what was kept.
 *
 * A client without a notify URL gets no row: it learns results from the query endpoint, and
 * setting a URL later does not replay earlier results. A client that cannot be sent to now (its
 * endpoint was disabled by a 410) gets its row marked dead at once, so an operator can redeliver
 * it after fixing the URL.
 * Returns whether a row for sending was queued (the caller then nudges the dispatcher).
 */
export async function queueFlowNotification(
  deps: Pick<ServiceDeps, 'config' | 'cipher'>,
  trx: Executor,
  flow: Pick<FlowRow, 'id' | 'client_id' | 'account_id' | 'fail_reason'>,
  status: FinalStatus,
  at: number,
): Promise<boolean> {
  const client = await clientStore.findClientById(trx, flow.client_id);
  if (!client) return false;
  const deliverable = canDeliver(deps, client, at);
  if (!deliverable.ok && deliverable.reason === 'no-url') return false;
  const notification = flowNotification(flow, status, at);
  await deliveryStore.insertDelivery(trx, {
    id: `msg_${randomBase62(24)}`,
    client_id: client.id,
    flow_id: flow.id,
    type: notification.type,
    payload: JSON.stringify(notification),
    status: deliverable.ok ? 'PENDING' : 'DEAD',
    attempts: 0,
    next_attempt_at: at + withJitter(deps.config.notify.retryScheduleMs[0] ?? 0),
    claimed_until: null,
    claim_id: null,
    last_attempt_at: null,
    last_status: null,
    last_error: deliverable.ok ? null : deliverable.error,
    created_at: at,
    delivered_at: null,
  });
  return deliverable.ok;
}
