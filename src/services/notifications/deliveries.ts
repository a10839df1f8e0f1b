import { AppError } from '../../errors.js';
import * as clientStore from '../../store/client-store.js';
import * as deliveryStore from '../../store/delivery-store.js';
import type { DeliveryRow } from '../../store/schema.js';
import type { ServiceDeps } from '../deps.js';
import { canDeliver } from './endpoint.js';

export interface DeliveryView {
  id: string;
  client: string;
  flowId: string | null;
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
    const client = await clientStore.findClientByName(deps.store.db, opts.client);
    if (!client) throw new AppError('not_found', { detail: `no client named "${opts.client}"` });
    clientId = client.id;
  }
  const rows = await deliveryStore.listDeliveries(deps.store.db, {
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
export async function redeliver(
  deps: Pick<ServiceDeps, 'store' | 'now' | 'dispatcherWakeup' | 'cipher'>,
  id: string,
) {
  const delivery = await deliveryStore.findDelivery(deps.store.db, id);
  if (!delivery) throw new AppError('not_found', { detail: `no delivery ${id}` });
  const client = await clientStore.findClientById(deps.store.db, delivery.client_id);
  if (!client) throw new AppError('not_found', { detail: `no client for delivery ${id}` });
  const deliverable = canDeliver(deps, client, deps.now());
  if (!deliverable.ok) {
    const fix = `set it again with "client update ${client.name} --notify-url URL" first`;
    throw new AppError('conflict', {
      detail:
        deliverable.reason === 'disabled'
          ? `the notify URL of client "${client.name}" answered 410 Gone; ${fix}`
          : `client "${client.name}" cannot be notified (${deliverable.error}); ${fix}`,
    });
  }
  await deliveryStore.requeueDelivery(deps.store.db, id, deps.now());
  deps.dispatcherWakeup.notify();
  return { id, flowId: delivery.flow_id, client: client.name };
}

/** Age in seconds of the oldest delivery still waiting, for the gauge; 0 when none waits. */
export async function oldestPendingDeliveryAge(deps: Pick<ServiceDeps, 'store' | 'now'>): Promise<number> {
  const oldest = await deliveryStore.oldestPendingCreatedAt(deps.store.db);
  return oldest === null ? 0 : Math.max(0, (deps.now() - oldest) / 1000);
}
