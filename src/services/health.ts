import { sql } from 'kysely';
import type { LimiterHealth } from '../ratelimit/limiter.js';
import type { ServiceDeps } from './deps.js';
import { formatBeijing } from './time.js';

export interface Readiness extends LimiterHealth {
  /** False when the database or a configured Redis is down: the gateway should get no traffic. */
  ok: boolean;
  database: 'ok' | 'unreachable';
  /**
   * e签宝 as the last real call found it (present with PROVIDER=esign). Never checked by calling:
   * calls may be billed. It does not make the gateway unready: flows already started, links,
   * callbacks and queries keep working without it.
   */
  esign?: { status: 'reachable' | 'unreachable' | 'unknown'; lastCallAt?: string };
}

/** Checks the database and Redis now, and reports e签宝 as last seen. */
export async function checkReady(
  deps: Pick<ServiceDeps, 'store' | 'rateLimiter' | 'provider'>,
): Promise<Readiness> {
  const [database, limiter] = await Promise.all([
    sql`select 1`.execute(deps.store.db).then(
      () => 'ok' as const,
      () => 'unreachable' as const,
    ),
    deps.rateLimiter.check(),
  ]);
  const ready: Readiness = {
    ok: database === 'ok' && limiter.redis !== 'unreachable',
    database,
    ...limiter,
  };
  if (deps.provider.name === 'esign') {
    const seen = deps.provider.lastSeen();
    ready.esign = seen
      ? { status: seen.reachable ? 'reachable' : 'unreachable', lastCallAt: formatBeijing(seen.at) }
      : { status: 'unknown' };
  }
  return ready;
}
