import type { ClientRow } from '../../store/schema.js';
import type { ServiceDeps } from '../deps.js';

export const DISABLED_ERROR = 'endpoint disabled after 410 Gone';

export type Deliverability =
  | { ok: true; url: string; secrets: string[] }
  | { ok: false; reason: 'no-url' | 'disabled' | 'no-secret'; error: string };

/**
 * Whether a client can be sent a notification now: it needs a notify URL that no 410 has
 * disabled, and a secret to sign with (the current one, plus the previous one in its grace period).
 */
export function canDeliver(
  deps: Pick<ServiceDeps, 'cipher'>,
  client: ClientRow,
  now: number,
): Deliverability {
  if (!client.notify_url) return { ok: false, reason: 'no-url', error: 'client has no notify URL' };
  if (client.notify_disabled_at !== null) return { ok: false, reason: 'disabled', error: DISABLED_ERROR };
  const secrets: string[] = [];
  if (client.webhook_secret_enc) secrets.push(deps.cipher.decrypt(client.webhook_secret_enc));
  if (
    client.webhook_secret_prev_enc &&
    client.webhook_secret_prev_until !== null &&
    client.webhook_secret_prev_until > now
  ) {
    secrets.push(deps.cipher.decrypt(client.webhook_secret_prev_enc));
  }
  if (secrets.length === 0) return { ok: false, reason: 'no-secret', error: 'client has no webhook secret' };
  return { ok: true, url: client.notify_url, secrets };
}
