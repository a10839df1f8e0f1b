import { randomUUID } from 'node:crypto';
import type { SendResult, WebhookSender } from '../../notify/sender.js';
import * as clientStore from '../../store/client-store.js';
import * as deliveryStore from '../../store/delivery-store.js';
import type { DeliveryRow } from '../../store/schema.js';
import { drainClaims } from '../claims.js';
import type { ServiceDeps } from '../deps.js';
import { canDeliver, DISABLED_ERROR } from './endpoint.js';
import { withJitter } from './outbox.js';

/** Deliveries one dispatcher claims at a time; they are sent in parallel. */
const BATCH = 16;
/**
 * A claim lasts twice the attempt's timeout: the attempt itself, then ample time to record it. A
 * dispatcher that dies mid-attempt holds its deliveries no longer than this; one that is merely
 * slow past it loses the claim, and its late result is dropped (the next attempt reuses the id).
 */
const LEASE_TIMEOUTS = 2;

export type AttemptOutcome = 'delivered' | 'retrying' | 'dead' | 'disabled';

/**
 * One dispatcher pass: claims due deliveries and makes one attempt at each, until none is due.
 * A 2xx delivers; a 410 disables the client's endpoint; anything else (another status, a timeout,
 * a refused or blocked connection) schedules the next attempt from the retry schedule, and after
 * the last one the delivery is dead. Returns the number of attempts made.
 */
export async function dispatchDueDeliveries(
  deps: ServiceDeps,
  sender: WebhookSender,
  signal?: AbortSignal,
): Promise<number> {
  let claimId = '';
  return drainClaims({
    claim: () => {
      const now = deps.now();
      claimId = randomUUID();
      return deliveryStore.claimDueDeliveries(deps.store.db, {
        now,
        leaseUntil: now + LEASE_TIMEOUTS * deps.config.notify.timeoutMs,
        claimId,
        limit: BATCH,
        skipLocked: deps.store.dialect === 'postgres',
      });
    },
    batch: BATCH,
    // The whole batch at once: each attempt mostly waits on the receiver.
    parallel: BATCH,
    signal,
    work: (d) => attemptDelivery(deps, sender, d, claimId, signal),
    handBack: (d) => deliveryStore.releaseClaim(deps.store.db, d.id, claimId),
    onError: (d, err) => deps.logger.error({ err, deliveryId: d.id }, 'notification attempt failed'),
  });
}

async function attemptDelivery(
  deps: ServiceDeps,
  sender: WebhookSender,
  d: DeliveryRow,
  claimId: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { db } = deps.store;
  const log = deps.logger.child({
    component: 'notify',
    deliveryId: d.id,
    flowId: d.flow_id,
    clientId: d.client_id,
  });
  const client = await clientStore.findClientById(db, d.client_id);
  const deliverable = client
    ? canDeliver(deps, client, deps.now())
    : ({ ok: false, error: 'client no longer exists' } as const);
  const attempt = d.attempts + 1;
  if (!client || !deliverable.ok) {
    // The endpoint went away after this row was queued: nothing can be sent until an operator acts.
    const error = deliverable.ok ? 'client no longer exists' : deliverable.error;
    await finish(deps, d, claimId, {
      status: 'DEAD',
      attempts: d.attempts,
      httpStatus: null,
      error,
      latencyMs: null,
    });
    deps.metrics.webhookDeliveries.inc({ outcome: 'dead' });
    log.warn({ error }, 'notification dead without an attempt');
    return;
  }

  const started = Date.now();
  const { url, secrets } = deliverable;
  const result = await sender.send({ url, id: d.id, body: d.payload, secrets, signal });
  const ms = Date.now() - started;
  if (result.kind === 'failed' && result.reason === 'aborted') {
    // Stopping: the attempt did not finish, so it does not count; another run takes it up at once.
    await deliveryStore.releaseClaim(db, d.id, claimId);
    return;
  }

  const schedule = deps.config.notify.retryScheduleMs;
  const httpStatus = result.kind === 'answered' ? result.status : null;
  let outcome: AttemptOutcome;
  if (httpStatus !== null && httpStatus >= 200 && httpStatus < 300) outcome = 'delivered';
  else if (httpStatus === 410) outcome = 'disabled';
  else if (attempt >= schedule.length) outcome = 'dead';
  else outcome = 'retrying';

  const error = describeFailure(result);
  const recorded = await finish(deps, d, claimId, {
    status: outcome === 'delivered' ? 'DELIVERED' : outcome === 'retrying' ? 'PENDING' : 'DEAD',
    attempts: attempt,
    httpStatus,
    error: outcome === 'disabled' ? DISABLED_ERROR : error,
    nextDelayMs: outcome === 'retrying' ? withJitter(schedule[attempt] ?? 0) : 0,
    latencyMs: ms,
  });
  if (outcome === 'disabled') await clientStore.disableNotify(db, client.id, deps.now());
  deps.metrics.webhookDeliveries.inc({ outcome });

  // The host only: a notify URL's path or query may carry the client's own credentials.
  const fields = { attempt, host: new URL(url).host, httpStatus, error, ms, outcome, recorded };
  if (outcome === 'delivered') log.info(fields, 'notification delivered');
  else if (outcome === 'retrying') log.warn(fields, 'notification attempt failed; will retry');
  else
    log.error(
      fields,
      outcome === 'dead'
        ? 'notification dead after its last attempt'
        : 'notify URL gone (410); endpoint disabled',
    );
}

/**
 * How long the dispatcher may sleep: until the next delivery becomes claimable (a retry due in
 * 200 ms is not left waiting for a 1 s tick), at most `maxMs`.
 */
export async function dispatcherSleepMs(deps: ServiceDeps, maxMs: number): Promise<number> {
  const next = await deliveryStore.nextClaimableAt(deps.store.db);
  if (next === null) return maxMs;
  // A floor keeps a clock quirk from turning the loop into a busy wait.
  return Math.min(maxMs, Math.max(10, next - deps.now()));
}

function describeFailure(result: SendResult): string | null {
  if (result.kind === 'failed') return `${result.reason}: ${result.detail}`;
  if (result.status >= 200 && result.status < 300) return null;
  return `HTTP ${result.status}`;
}

async function finish(
  deps: ServiceDeps,
  d: DeliveryRow,
  claimId: string,
  r: {
    status: DeliveryRow['status'];
    attempts: number;
    httpStatus: number | null;
    error: string | null;
    nextDelayMs?: number;
    latencyMs: number | null;
  },
): Promise<boolean> {
  const at = deps.now();
  return deliveryStore.recordAttempt(deps.store.db, d.id, claimId, {
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: at + (r.nextDelayMs ?? 0),
    at,
    httpStatus: r.httpStatus,
    error: r.error,
    latencyMs: r.latencyMs,
  });
}
