import { randomBase62 } from '../../crypto/random.js';
import { AppError } from '../../errors.js';
import * as clientStore from '../../store/client-store.js';
import * as deliveryStore from '../../store/delivery-store.js';
import type { ClientRow } from '../../store/schema.js';
import { setNotifyUrl } from '../clients/admin.js';
import type { ServiceDeps } from '../deps.js';
import { formatBeijing } from '../time.js';

/** The event a client sends itself to try its receiver; it goes through the normal outbox. */
export const TEST_PING = 'test.ping';

export interface NotifyEndpointView {
  url: string | null;
  enabled: boolean;
  disabledAt?: string;
  lastDelivery: {
    deliveryId: string;
    type: string;
    status: 'PENDING' | 'DELIVERED' | 'DEAD';
    attempts: number;
    lastStatus?: number;
    lastAttemptAt?: string;
    deliveredAt?: string;
  } | null;
}

type Deps = Pick<ServiceDeps, 'store' | 'now' | 'cipher' | 'config'>;

async function clientById(deps: Pick<ServiceDeps, 'store'>, clientId: string): Promise<ClientRow> {
  const client = await clientStore.findClientById(deps.store.db, clientId);
  // Authentication found this client a moment ago; losing it means it was deleted meanwhile.
  if (!client) throw new AppError('not_found');
  return client;
}

/** `GET /esign/api/notify-endpoint`: the URL, whether it is enabled, the latest delivery's outcome. */
export async function getNotifyEndpoint(
  deps: Pick<ServiceDeps, 'store'>,
  clientId: string,
): Promise<NotifyEndpointView> {
  const client = await clientById(deps, clientId);
  const [last] = await deliveryStore.listDeliveries(deps.store.db, { clientId, limit: 1 });
  return {
    url: client.notify_url,
    enabled: client.notify_url !== null && client.notify_disabled_at === null,
    ...(client.notify_disabled_at === null ? {} : { disabledAt: formatBeijing(client.notify_disabled_at) }),
    lastDelivery: last
      ? {
          deliveryId: last.id,
          type: last.type,
          status: last.status,
          attempts: last.attempts,
          ...(last.last_status === null ? {} : { lastStatus: last.last_status }),
          ...(last.last_attempt_at === null ? {} : { lastAttemptAt: formatBeijing(last.last_attempt_at) }),
          ...(last.delivered_at === null ? {} : { deliveredAt: formatBeijing(last.delivered_at) }),
        }
      : null,
  };
}

/**
 * `PUT /esign/api/notify-endpoint`: the same rules as `client update --notify-url`. The webhook
 * secret is answered only when this call created it.
 */
export async function putNotifyEndpoint(deps: Deps, clientId: string, url: string) {
  const updated = await setNotifyUrl(deps, await clientById(deps, clientId), url, {
    kind: 'client',
    id: clientId,
  });
  return {
    url: updated.notifyUrl,
    enabled: true,
    ...(updated.webhookSecret === undefined ? {} : { webhookSecret: updated.webhookSecret }),
  };
}

/** `POST /esign/api/notify-endpoint/test`: queues a signed `test.ping` and answers its delivery id. */
export async function sendTestPing(
  deps: Pick<ServiceDeps, 'store' | 'now' | 'dispatcherWakeup'>,
  clientId: string,
): Promise<{ deliveryId: string }> {
  const client = await clientById(deps, clientId);
  if (!client.notify_url) throw new AppError('conflict', { userMessage: '尚未设置通知地址' });
  if (client.notify_disabled_at !== null) {
    throw new AppError('conflict', { userMessage: '通知地址已因返回 410 被停用，请重新设置通知地址' });
  }
  const now = deps.now();
  const id = `msg_${randomBase62(24)}`;
  await deliveryStore.insertDelivery(deps.store.db, {
    id,
    client_id: client.id,
    flow_id: null,
    type: TEST_PING,
    payload: JSON.stringify({ type: TEST_PING, occurredAt: formatBeijing(now) }),
    status: 'PENDING',
    attempts: 0,
    next_attempt_at: now,
    claimed_until: null,
    claim_id: null,
    last_attempt_at: null,
    last_status: null,
    last_error: null,
    created_at: now,
    delivered_at: null,
  });
  deps.dispatcherWakeup.notify();
  return { deliveryId: id };
}
