import { createWebhookSender } from './notify/sender.js';
import type { Runtime } from './runtime.js';
import { expireDueFlows, reconcileFlows } from './services/flows/reconcile.js';
import { forgetExpiredIdempotencyKeys } from './services/idempotency.js';
import { reindex } from './services/lifecycle/blind-index-reindex.js';
import { reencrypt } from './services/lifecycle/key-rotation.js';
import { runRetention } from './services/lifecycle/retention.js';
import { dispatchDueDeliveries, dispatcherSleepMs } from './services/notifications/dispatch.js';
import { Wakeup } from './services/wakeup.js';

const RETENTION_ACTOR = { kind: 'system', id: 'retention-job' } as const;
const KEYS_ACTOR = { kind: 'system', id: 'reencrypt-job' } as const;
const REINDEX_ACTOR = { kind: 'system', id: 'reindex-job' } as const;
/** Re-encryption (and blind-index recompute) batches per pass of the keys loop. */
const KEY_BATCHES_PER_PASS = 10;

/**
 * Periodic work of one gateway process: the expiry sweep, reconciliation with the provider, the
 * notification dispatcher and personal data retention. Each loop runs once at start (so a
 * restarted process picks up what a crashed one left), then every interval; the dispatcher also
 * wakes when a status change in this process queued a notification. Each loop logs and survives its own failures.
 *
 * The returned function stops the loops and resolves once their current pass has finished;
 * in-flight notification attempts are aborted and handed back uncounted.
 */
export function startJobs(runtime: Runtime): () => Promise<void> {
  const { config, logger } = runtime;
  const stop = new AbortController();
  const sender = createWebhookSender({
    allowPrivateNetworks: config.notify.allowPrivateNetworks,
    timeoutMs: config.notify.timeoutMs,
  });

  /** `pass` returns how long to sleep before the next pass, or nothing for the full interval. */
  const loop = async (
    name: string,
    intervalMs: number,
    wakeup: Wakeup,
    pass: () => Promise<number | undefined>,
  ) => {
    while (!stop.signal.aborted) {
      let sleepMs = intervalMs;
      try {
        sleepMs = (await pass()) ?? intervalMs;
      } catch (err) {
        logger.error({ err, job: name }, 'job pass failed');
      }
      await wakeup.wait(sleepMs, stop.signal);
    }
  };

  const loops = [
    loop('expiry', config.sweepIntervalMs, new Wakeup(), async () => {
      const n = await expireDueFlows(runtime, stop.signal);
      if (n > 0) logger.info({ expired: n }, 'expired pending flows');
      await forgetExpiredIdempotencyKeys(runtime);
      return undefined;
    }),
    loop('reconcile', config.reconcileIntervalMs, new Wakeup(), async () => {
      const summary = await reconcileFlows(runtime, stop.signal);
      const { success = 0, failed = 0, expired = 0, error = 0 } = summary;
      if (success + failed + expired + error > 0) logger.info({ summary }, 'reconciled pending flows');
      return undefined;
    }),
    loop('retention', config.lifecycle.intervalMs, new Wakeup(), async () => {
      const s = await runRetention(runtime, { actor: RETENTION_ACTOR, signal: stop.signal });
      if (s.erasedFlows + s.erasedPersons + s.prunedAuditEvents > 0)
        logger.info({ summary: s }, 'retention run');
      return undefined;
    }),
    loop('keys', config.lifecycle.keyRefreshMs, new Wakeup(), async () => {
      const r = await reencrypt(runtime, {
        signal: stop.signal,
        maxBatches: KEY_BATCHES_PER_PASS,
        actor: KEYS_ACTOR,
      });
      const moved = Object.values(r.moved).reduce((a, b) => a + b, 0);
      if (moved > 0)
        logger.info({ moved: r.moved, keyId: r.activeKeyId }, 're-encrypted under the active key');
      const b = await reindex(runtime, {
        signal: stop.signal,
        maxBatches: KEY_BATCHES_PER_PASS,
        actor: REINDEX_ACTOR,
      });
      if (b.moved.persons + b.moved.flows > 0)
        logger.info(
          { moved: b.moved, keyId: b.activeKeyId },
          'recomputed blind indexes under the active key',
        );
      // More to move: go on soon, but let other work in between.
      return r.done && b.done ? undefined : 50;
    }),
    loop('dispatch', config.notify.dispatchIntervalMs, runtime.dispatcherWakeup, async () => {
      await dispatchDueDeliveries(runtime, sender, stop.signal);
      return dispatcherSleepMs(runtime, config.notify.dispatchIntervalMs);
    }),
  ];

  let stopped: Promise<void> | null = null;
  return () => {
    stopped ??= (async () => {
      stop.abort();
      await Promise.all(loops);
      await sender.close();
    })();
    return stopped;
  };
}
