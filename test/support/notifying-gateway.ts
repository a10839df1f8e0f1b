import { startJobs } from '../../src/jobs.js';
import { updateClientNotifyUrl } from '../../src/services/clients/admin.js';
import { createTestDatabase, type StoreKind, type TestDatabase } from './databases.js';
import { startGateway, type TestGateway } from './gateway.js';
import { recordSecret } from './paths.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

export interface NotifyingGateway {
  db: TestDatabase;
  gw: TestGateway;
  /** The notify endpoint of client `acme`. */
  receiver: WebhookReceiver;
  /** The webhook secret of client `acme` (recorded for the log scan). */
  secret: string;
  /** Stops the jobs and the gateway, closes the receiver and drops the database. */
  close(): Promise<void>;
}

/**
 * A gateway over a fresh database of `kind` whose client `acme` sends notifications to a webhook
 * receiver, with the background jobs (dispatcher, reconciliation, sweep) running.
 */
export async function startNotifyingGateway(
  kind: StoreKind,
  env: Record<string, string>,
): Promise<NotifyingGateway> {
  const cleanups: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    const db = await createTestDatabase(kind);
    cleanups.push(() => db.drop());
    const receiver = await startWebhookReceiver();
    cleanups.push(() => receiver.close());
    const gw = await startGateway({ db, env });
    cleanups.push(() => gw.close());
    const secret = (await updateClientNotifyUrl(gw.runtime, 'acme', receiver.url)).webhookSecret ?? '';
    recordSecret(secret);
    cleanups.push(startJobs(gw.runtime));
    return { db, gw, receiver, secret, close };
  } catch (err) {
    await close();
    throw err;
  }
}
