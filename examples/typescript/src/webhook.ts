/**
 * Verifying result notifications. etc-esign signs them per Standard Webhooks: verify on the raw
 * body bytes (before any JSON parsing), then de-duplicate on `webhook-id`.
 */
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

export interface ResultEvent {
  type: string;
  flowId?: string;
  status?: string;
  esignAccountId?: string;
  failReason?: string;
  occurredAt: string;
}

/** The event when the signature holds; null when it does not (answer 400, do not process). */
export function verifyEvent(
  secret: string,
  rawBody: string,
  headers: Record<string, string | string[] | undefined>,
): ResultEvent | null {
  const pick = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
  };
  try {
    return new Webhook(secret).verify(rawBody, {
      'webhook-id': pick('webhook-id'),
      'webhook-timestamp': pick('webhook-timestamp'),
      'webhook-signature': pick('webhook-signature'),
    }) as ResultEvent;
  } catch (err) {
    if (err instanceof WebhookVerificationError) return null;
    throw err;
  }
}
