import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { sessionCookie } from '../../src/http/console/guard.js';
import { quantileFromBuckets } from '../../src/services/console/overview.js';
import { bucketKey, bucketOf, hourOf, TTC_BOUNDS_MS } from '../../src/store/stats-store.js';

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
};

describe('console configuration', () => {
  it('defaults: 8-hour sessions, no admin listener, admin host 127.0.0.1, no Secure cookie on http', () => {
    expect(loadConfig({}).console).toEqual({
      sessionHours: 8,
      adminPort: null,
      adminHost: '127.0.0.1',
      secureCookie: false,
    });
  });

  it('reads CONSOLE_SESSION_HOURS, ADMIN_PORT, ADMIN_HOST; https base URL makes the cookie Secure', () => {
    const c = loadConfig({
      CONSOLE_SESSION_HOURS: '12',
      ADMIN_PORT: '9090',
      ADMIN_HOST: '10.0.0.5',
      PUBLIC_BASE_URL: 'https://esign.example.com',
    });
    expect(c.console).toEqual({
      sessionHours: 12,
      adminPort: 9090,
      adminHost: '10.0.0.5',
      secureCookie: true,
    });
    expect(sessionCookie(c, 'abc', 60)).toBe(
      'etc_console_session=abc; Max-Age=60; Path=/console; HttpOnly; Secure; SameSite=Strict',
    );
  });

  it('rejects bad values', () => {
    expect(problemsOf({ CONSOLE_SESSION_HOURS: '0' })).toEqual([
      'CONSOLE_SESSION_HOURS must be an integer from 1 to 720 (got "0")',
    ]);
    expect(problemsOf({ ADMIN_PORT: 'admin' })).toEqual([
      'ADMIN_PORT must be an integer from 0 to 65535 (got "admin")',
    ]);
    expect(problemsOf({ PORT: '9000', ADMIN_PORT: '9000' })).toEqual(['ADMIN_PORT must differ from PORT']);
    expect(() => loadConfig({ CONSOLE_SESSION_HOURS: '721' })).toThrow(ConfigError);
  });
});

describe('hourly statistics helpers', () => {
  it('puts values in the first bucket whose upper bound holds them, the rest in the overflow bucket', () => {
    expect(bucketOf(TTC_BOUNDS_MS, 0)).toBe(0);
    expect(bucketOf(TTC_BOUNDS_MS, 5000)).toBe(0);
    expect(bucketOf(TTC_BOUNDS_MS, 5001)).toBe(1);
    expect(bucketOf(TTC_BOUNDS_MS, 10 * 86_400_000)).toBe(TTC_BOUNDS_MS.length);
    expect(bucketKey('flow.ttc', 3)).toBe('flow.ttc.03');
    expect(hourOf(Date.UTC(2026, 10, 29, 20, 59, 59, 999))).toBe(Date.UTC(2026, 10, 29, 20));
  });

  it('estimates quantiles by interpolating inside the bucket', () => {
    const bounds = [10, 20, 40];
    expect(quantileFromBuckets(bounds, [0, 0, 0, 0], 0.5)).toBeNull();
    expect(quantileFromBuckets(bounds, [0, 2, 0, 0], 0.5)).toBe(15);
    expect(quantileFromBuckets(bounds, [1, 1, 1, 1], 0.5)).toBe(20);
    expect(quantileFromBuckets(bounds, [0, 0, 0, 3], 0.99)).toBe(40);
  });
});
