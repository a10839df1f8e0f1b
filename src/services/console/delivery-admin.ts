import { AppError } from '../../errors.js';
import * as clientStore from '../../store/client-store.js';
import * as deliveryStore from '../../store/delivery-store.js';
import { type AuditActor, recordAudit } from '../audit.js';
import type { ServiceDeps } from '../deps.js';
import { redeliver } from '../notifications/deliveries.js';
import { encodeCursor, positionOf } from '../page-cursor.js';
import { deliveryView } from './flow-inspection.js';

type Deps = Pick<ServiceDeps, 'store' | 'cipher' | 'now' | 'dispatcherWakeup'>;
type Actor = AuditActor;

/** Failing and dead deliveries across clients, newest first. */
export async function listFailingDeliveries(
  deps: Pick<ServiceDeps, 'store'>,
  q: { status?: 'failing' | 'dead'; clientId?: string; cursor?: string; limit?: string },
) {
  const limit = q.limit === undefined ? 50 : Number(q.limit);
  const rows = await deliveryStore.listFailedDeliveries(deps.store.db, {
    ...(q.status ? { status: q.status } : {}),
    ...(q.clientId ? { clientId: q.clientId } : {}),
    ...(q.cursor ? { before: positionOf(q.cursor) } : {}),
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(deliveryView),
    nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
  };
}

const conflictMessage = (err: unknown): never => {
  if (err instanceof AppError && err.kind === 'conflict')
    throw new AppError('conflict', {
      userMessage: '该客户端没有可用的通知地址，请先设置通知地址',
      detail: err.message,
    });
  throw err;
};

/** Sends one delivery again from the start of the schedule, with the same webhook-id. */
export async function redeliverFromConsole(deps: Deps, actor: Actor, deliveryId: string, requestId: string) {
  const found = await deliveryStore.findDelivery(deps.store.db, deliveryId);
  if (!found) throw new AppError('not_found', { userMessage: '投递记录不存在' });
  await redeliver(deps, deliveryId).catch(conflictMessage);
  await recordAudit(deps, {
    actor,
    action: 'delivery.redeliver',
    clientId: found.client_id,
    ...(found.flow_id ? { flowId: found.flow_id } : {}),
    target: deliveryId,
    requestId,
  });
  const row = await deliveryStore.findDeliveryWithClient(deps.store.db, deliveryId);
  if (!row) throw new AppError('internal', { detail: 'redelivered delivery vanished' });
  return deliveryView(row);
}

/** Queues all failing and dead deliveries of one client again. */
export async function redeliverClientFromConsole(
  deps: Deps,
  actor: Actor,
  clientId: string,
  requestId: string,
) {
  const client = await clientStore.findClientById(deps.store.db, clientId);
  if (!client) throw new AppError('not_found', { userMessage: '客户端不存在' });
  if (!client.notify_url || client.notify_disabled_at !== null) {
    throw new AppError('conflict', { userMessage: '该客户端没有可用的通知地址，请先设置通知地址' });
  }
  const requeued = await deliveryStore.requeueClientDeliveries(deps.store.db, clientId, deps.now());
  await recordAudit(deps, {
    actor,
    action: 'delivery.redeliver',
    clientId,
    target: client.name,
    requestId,
    detail: { requeued },
  });
  if (requeued > 0) deps.dispatcherWakeup.notify();
  return { requeued };
}
