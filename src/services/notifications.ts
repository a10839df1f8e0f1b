import { randomBase62 } from '../crypto/random.js';
import { AppError } from '../errors.js';
import * as clients from '../store/clients.js';
import type { Executor } from '../store/db.js';
import * as deliveries from '../store/deliveries.js';
import type { DeliveryRow, FlowRow } from '../store/schema.js';
import type { ServiceDeps } from './deps.js';
import { formatBeijing } from './time.js';

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

export const DISABLED_ERROR = 'endpoint disabled after 410 Gone';

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
 * setting a URL later does not replay earlier results. A client whose endpoint was disabled by a
 * 410 gets its row marked dead at once, so an operator can redeliver it after fixing the URL.
 * Returns whether a row for sending was queued (the caller then nudges the dispatcher).
 */
export async function queueFlowNotification(
  deps: Pick<ServiceDeps, 'config'>,
  trx: Executor,
  flow: Pick<FlowRow, 'id' | 'client_id' | 'account_id' | 'fail_reason'>,
  status: FinalStatus,
  at: number,
): Promise<boolean> {
  const client = await clients.findClientById(trx, flow.client_id);
  if (!client?.notify_url) return false;
  const disabled = client.notify_disabled_at !== null;
  const notification = flowNotification(flow, status, at);
  await deliveries.insertDelivery(trx, {
    id: `msg_${randomBase62(24)}`,
    client_id: client.id,
    flow_id: flow.id,
    type: notification.type,
    payload: JSON.stringify(notification),
    status: disabled ? 'DEAD' : 'PENDING',
    attempts: 0,
    next_attempt_at: at + withJitter(deps.config.notify.retryScheduleMs[0] ?? 0),
    claimed_until: null,
    claim_id: null,
    last_attempt_at: null,
    last_status: null,
    last_error: disabled ? DISABLED_ERROR : null,
    created_at: at,
    delivered_at: null,
  });
  return !disabled;
}

export interface DeliveryView {
  id: string;
  client: string;
  flowId: string;
  type: string;
  status: DeliveryRow['status'];
  attempts: number;
  createdAt: number;
  nextAttemptAt: number | null;
  lastAttemptAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: number | null;
}

/** `delivery list [--failed]`: newest first; `failed` means dead, or pending after a failed attempt. */
export async function listDeliveries(
  deps: Pick<ServiceDeps, 'store'>,
  opts: { failed?: boolean; client?: string; limit?: number } = {},
): Promise<DeliveryView[]> {
  let clientId: string | undefined;
  if (opts.client) {
    const client = await clients.findClientByName(deps.store.db, opts.client);
    if (!client) throw new AppError('not_found', { detail: `no client named "${opts.client}"` });
    clientId = client.id;
  }
  const rows = await deliveries.listDeliveries(deps.store.db, {
    failedOnly: opts.failed ?? false,
    ...(clientId ? { clientId } : {}),
    limit: opts.limit ?? 100,
  });
  return rows.map((r) => ({
    id: r.id,
    client: r.client_name,
    flowId: r.flow_id,
    type: r.type,
    status: r.status,
    attempts: r.attempts,
    createdAt: r.created_at,
    nextAttemptAt: r.status === 'PENDING' ? r.next_attempt_at : null,
    lastAttemptAt: r.last_attempt_at,
    lastStatus: r.last_status,
    lastError: r.last_error,
    deliveredAt: r.delivered_at,
  }));
}

/**
 * `delivery redeliver <id>`: sends a delivery again from the start of the retry schedule, with the
 * same `webhook-id` so a receiver that already processed it recognizes it.
 */
export async function redeliver(deps: Pick<ServiceDeps, 'store' | 'now' | 'dispatcherWakeup'>, id: string) {
  const delivery = await deliveries.findDelivery(deps.store.db, id);
  if (!delivery) throw new AppError('not_found', { detail: `no delivery ${id}` });
  const client = await clients.findClientById(deps.store.db, delivery.client_id);
  if (!client?.notify_url) {
    throw new AppError('conflict', { detail: `client "${client?.name}" has no notify URL` });
  }
  if (client.notify_disabled_at !== null) {
    throw new AppError('conflict', {
      detail: `the notify URL of client "${client.name}" answered 410 Gone; set it again with "client update ${client.name} --notify-url URL" first`,
    });
  }
  await deliveries.requeueDelivery(deps.store.db, id, deps.now());
  deps.dispatcherWakeup.notify();
  return { id, flowId: delivery.flow_id, client: client.name };
}

/** Age in seconds of the oldest delivery still waiting, for the gauge; 0 when none waits. */
export async function oldestPendingDeliveryAge(deps: Pick<ServiceDeps, 'store' | 'now'>): Promise<number> {
  const oldest = await deliveries.oldestPendingCreatedAt(deps.store.db);
  return oldest === null ? 0 : Math.max(0, (deps.now() - oldest) / 1000);
}
