import type { FastifyBaseLogger } from 'fastify';

/** How long one cause stays quiet in the log after it was written. */
const QUIET_MS = 10_000;

/**
 * A full disk or a restarting PostgreSQL fails every request at once — thousands of identical
 * lines a second would bury the one that says what happened. Each cause is written when first
 * seen and then at most once per `QUIET_MS`, with how many requests it failed in between; every
 * request still has its own `request` line with the 503.
 */
export function faultLog(now: () => number = Date.now): (log: FastifyBaseLogger, detail: string) => void {
  const causes = new Map<string, { loggedAt: number; since: number }>();
  return (log, detail) => {
    const t = now();
    const cause = causes.get(detail);
    if (cause && t - cause.loggedAt < QUIET_MS) {
      cause.since++;
      return;
    }
    log.error(
      { kind: 'unavailable', detail, failedSinceLastLine: cause?.since ?? 0 },
      'database unavailable',
    );
    causes.set(detail, { loggedAt: t, since: 0 });
  };
}
