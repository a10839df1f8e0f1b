import type { Config } from './config.js';
import { DEFAULT_BLIND_KEY_ID, KeyError, type KeyRing, readKeyRing } from './crypto/keys.js';
import { PiiCipher } from './crypto/pii.js';
import type { Logger } from './log.js';
import { createMetrics } from './metrics.js';
import { CircuitBreakerProvider, type CircuitState } from './providers/circuit-breaker.js';
import { EsignProvider } from './providers/esign/esign-provider.js';
import { measuredProvider } from './providers/measured.js';
import type { FaceProvider, SandboxControl } from './providers/provider.js';
import { SandboxProvider } from './providers/sandbox.js';
import type { RateLimiter } from './ratelimit/limiter.js';
import { MemoryRateLimiter } from './ratelimit/memory.js';
import { RedisRateLimiter } from './ratelimit/redis.js';
import { TokenCache } from './services/clients/token-cache.js';
import type { ServiceDeps } from './services/deps.js';
import { EventStats } from './services/event-stats.js';
import { upgradeLegacyFlows } from './services/flows/legacy-rows.js';
import { openKeyRing } from './services/keys.js';
import { getActiveKeyId } from './services/lifecycle/key-registry.js';
import { oldestPendingDeliveryAge } from './services/notifications/deliveries.js';
import { Wakeup } from './services/wakeup.js';
import { migrateToLatest, openStore, type Store } from './store/db.js';

const CIRCUIT_GAUGE: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };

/** How often counted events reach the hourly statistics. */
const EVENT_STATS_FLUSH_MS = 5000;

export interface Runtime extends ServiceDeps {
  close(): Promise<void>;
}

export interface RuntimeOptions {
  migrate?: boolean;
  /** Test seams: a controllable clock, and a wrapper around the provider (e.g. to count calls). */
  now?: () => number;
  wrapProvider?: (provider: FaceProvider) => FaceProvider;
}

/** Builds every long-lived part from the config, once; `close` releases them in reverse order. */
export async function createRuntime(
  config: Config,
  logger: Logger,
  opts: RuntimeOptions = {},
): Promise<Runtime> {
  const metrics = createMetrics();
  const now = opts.now ?? (() => Date.now());
  const store = openStore(config.database, logger);
  let keys: KeyRing;
  let cipher: PiiCipher;
  try {
    if (opts.migrate !== false) await migrateToLatest(store.db);
    keys = await openKeyRing(config, store, now());
    cipher = new PiiCipher(keys);
    if (config.keys === null) cipher.reloadKeys = () => readKeyRing(config);
    await useActiveKey(store, cipher);
    const upgraded = await upgradeLegacyFlows({ store, cipher });
    if (upgraded.sealed > 0 || upgraded.mobilesIndexed > 0)
      logger.info(upgraded, 'upgraded flows written by an older version (sealed links, indexed mobiles)');
  } catch (err) {
    await store.close();
    throw err;
  }
  let provider: FaceProvider;
  let sandbox: SandboxControl | null = null;
  if (config.provider === 'esign' && config.esign) {
    const circuitLog = logger.child({ component: 'esign-circuit' });
    provider = new CircuitBreakerProvider(
      new EsignProvider(config.esign, {
        logger,
        onBalanceExhausted: () => metrics.balanceExhausted.inc(),
      }),
      {
        failureThreshold: config.esign.circuitFailures,
        openMs: config.esign.circuitOpenMs,
        now,
        onStateChange: (state) => {
          metrics.upstreamCircuit.set(CIRCUIT_GAUGE[state]);
          circuitLog[state === 'open' ? 'error' : 'warn']({ state }, `e签宝 circuit ${state}`);
        },
      },
    );
  } else {
    const sandboxProvider = new SandboxProvider({
      publicBaseUrl: config.publicBaseUrl,
      linkTtlMs: config.sandboxLinkTtlMs,
      // Sandbox account ids stay those of the first blind-index key while it is held.
      accountKey: (keys.blindIndex.find((k) => k.id === DEFAULT_BLIND_KEY_ID) ?? keys.blindIndex[0])
        ?.key as Buffer,
      now,
    });
    provider = sandboxProvider;
    sandbox = sandboxProvider;
  }
  const eventStats = new EventStats(store, logger, now);
  eventStats.start(EVENT_STATS_FLUSH_MS);
  provider = measuredProvider(provider, (op, result, ms) => eventStats.upstreamCall(op, result, ms));
  if (opts.wrapProvider) provider = opts.wrapProvider(provider);
  metrics.measureOldestPendingWith(() => oldestPendingDeliveryAge({ store, now }));
  let rateLimiter: RateLimiter = new MemoryRateLimiter();
  if (config.redisUrl) {
    const redisLimiter = new RedisRateLimiter(config.redisUrl, config.redisKeyPrefix, {
      logger,
      onFallback: (active) => metrics.rateLimiterFallback.set(active ? 1 : 0),
    });
    await redisLimiter.settled();
    rateLimiter = redisLimiter;
  }
  return {
    config,
    store,
    cipher,
    provider,
    sandbox,
    logger,
    now,
    metrics,
    rateLimiter,
    tokenCache: new TokenCache(),
    dispatcherWakeup: new Wakeup(),
    eventStats,
    async close() {
      await eventStats.stop();
      await provider.close();
      await rateLimiter.close();
      await store.close();
    },
  };
}

/**
 * After a rotation the database names the key all processes encrypt with; a process that does not
 * hold it must not start (it could not read what the others write).
 */
async function useActiveKey(store: Store, cipher: PiiCipher): Promise<void> {
  const active = await getActiveKeyId(store.db);
  if (active && !cipher.setActive(active)) {
    throw new KeyError(
      `encryption key "${active}" is the active key of this database but is not in ENCRYPTION_KEYS (or keys.json): add it and start again`,
    );
  }
  const blind = await getActiveKeyId(store.db, 'blind_index');
  if (blind && !cipher.setActiveBlind(blind)) {
    throw new KeyError(
      `blind-index key "${blind}" is the active one of this database but is not in BLIND_INDEX_KEY (or keys.json): add it and start again`,
    );
  }
}
