import type { Runtime } from './runtime.js';
import { STALE_RESERVATION_MS } from './services/face-start.js';
import { expireDueFlows } from './services/flows.js';

/** Periodic work of one gateway process; each job swallows and logs its own failures. */
export function startJobs(runtime: Runtime): () => void {
  const timer = setInterval(() => {
    expireDueFlows(runtime, STALE_RESERVATION_MS).then(
      (n) => n > 0 && runtime.logger.info({ expired: n }, 'expired pending flows'),
      (err) => runtime.logger.error({ err }, 'expiry sweep failed'),
    );
  }, runtime.config.sweepIntervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
