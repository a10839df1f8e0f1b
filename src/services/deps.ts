import type { Config } from '../config.js';
import type { PiiCipher } from '../crypto/pii.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { FaceProvider, SandboxControl } from '../providers/provider.js';
import type { RateLimiter } from '../ratelimit/limiter.js';
import type { Store } from '../store/db.js';
import type { TokenCache } from './clients/token-cache.js';
import type { EventStats } from './event-stats.js';
import type { Wakeup } from './wakeup.js';

/** Everything a service function needs, built once at start and passed in. */
export interface ServiceDeps {
  config: Config;
  store: Store;
  cipher: PiiCipher;
  provider: FaceProvider;
  /** Present only when the sandbox is the provider: finishing flows by hand. */
  sandbox: SandboxControl | null;
  logger: Logger;
  metrics: Metrics;
  rateLimiter: RateLimiter;
  /** Token rows read at most once per TOKEN_CACHE_TTL_MS per token (see token-cache.ts). */
  tokenCache: TokenCache;
  now: () => number;
  /** Nudged after a committed status change queued a notification (see jobs.ts). */
  dispatcherWakeup: Wakeup;
  /** Counters of events that change no row (reused answers, provider calls), flushed in batches. */
  eventStats: EventStats;
}
