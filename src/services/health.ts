import { sql } from 'kysely';
import type { LimiterHealth } from '../ratelimit/limiter.js';
import type { ServiceDeps } from './deps.js';

export interface Readiness extends LimiterHealth {
  /** False when the database or a configured Redis is down: the gateway should get no traffic. */
  ok: boolean;
  database: 'ok' | 'unreachable';
}

/** Checks each dependency now. e签宝 is not called: every call there may be billed. */
export async function checkReady(deps: Pick<ServiceDeps, 'store' | 'rateLimiter'>): Promise<Readiness> {
  const [database, limiter] = await Promise.all([
    sql`select 1`.execute(deps.store.db).then(
      () => 'ok' as const,
      () => 'unreachable' as const,
    ),
    deps.rateLimiter.check(),
  ]);
  return {
    ok: database === 'ok' && limiter.redis !== 'unreachable',
    database,
    ...limiter,
  };
}
