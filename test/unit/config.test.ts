import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration } from '../../src/config.js';

const k = (fill: number) => Buffer.alloc(32, fill).toString('base64');

/** The problems a bad environment is reported with (fails the test when it loads fine). */
function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(Object.keys(env))}`);
}

describe('loadConfig', () => {
  it('has working defaults: port 8080, localhost link base, sandbox, SQLite in ./data', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.host).toBe('127.0.0.1');
    expect(c.publicBaseUrl).toBe('http://localhost:8080');
    expect(c.provider).toBe('sandbox');
    expect(c.esign).toBeNull();
    expect(c.dataDir).toBe(path.resolve('./data'));
    expect(c.database).toEqual({ kind: 'sqlite', file: path.resolve('./data/etc-esign.sqlite') });
    expect(c.redisUrl).toBeNull();
    expect(c.logLevel).toBe('info');
    expect(c.keys).toBeNull();
    expect(c.minAge).toBe(18);
    expect(c.sandboxLinkTtlMs).toBe(30 * 60_000);
    expect(c.notify.retryScheduleMs).toEqual([
      0,
      5000,
      5 * 60_000,
      30 * 60_000,
      2 * 3_600_000,
      5 * 3_600_000,
      10 * 3_600_000,
      10 * 3_600_000,
    ]);
    expect(c.notify.allowPrivateNetworks).toBe(false);
    expect(c.rateLimits).toEqual({
      perToken: 50,
      newFlowsPerPerson: 5,
      newFlowsPerPersonAllClients: 0,
      shortLinkPerIp: 60,
    });
    expect(c.http).toEqual({
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 15_000,
      idleTimeoutMs: 90_000,
      keepAliveTimeoutMs: 72_000,
      maxConnections: 4096,
      maxConnectionsPerIp: 256,
    });
  });

  it('derives the public base URL and the SQLite file from PORT and DATA_DIR', () => {
    const c = loadConfig({ PORT: '9090', DATA_DIR: '/srv/etc-esign' });
    expect(c.port).toBe(9090);
    expect(c.publicBaseUrl).toBe('http://localhost:9090');
    expect(c.dataDir).toBe('/srv/etc-esign');
    expect(c.database).toEqual({ kind: 'sqlite', file: '/srv/etc-esign/etc-esign.sqlite' });
    // An explicit base URL wins, without its trailing slashes.
    expect(loadConfig({ PORT: '9090', PUBLIC_BASE_URL: 'https://esign.example.cn/' }).publicBaseUrl).toBe(
      'https://esign.example.cn',
    );
    // Empty values count as unset.
    expect(loadConfig({ PORT: '', PROVIDER: '', LOG_LEVEL: '' })).toMatchObject({
      port: 8080,
      provider: 'sandbox',
      logLevel: 'info',
    });
  });

  it('selects PostgreSQL for postgres:// and postgresql:// URLs and SQLite for sqlite: URLs', () => {
    const url = 'postgres://app:pw@db.internal:5432/etc';
    const timeouts = { connectTimeoutMs: 3000, queryTimeoutMs: 15_000 };
    expect(loadConfig({ DATABASE_URL: url }).database).toEqual({
      kind: 'postgres',
      url,
      poolSize: 10,
      ...timeouts,
    });
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/etc', DATABASE_POOL_SIZE: '25' }).database).toEqual({
      kind: 'postgres',
      url: 'postgresql://db/etc',
      poolSize: 25,
      ...timeouts,
    });
    expect(loadConfig({ DATABASE_URL: 'sqlite:/var/lib/x.sqlite' }).database).toEqual({
      kind: 'sqlite',
      file: '/var/lib/x.sqlite',
    });
    expect(loadConfig({ DATABASE_URL: 'sqlite://rel/x.sqlite' }).database).toEqual({
      kind: 'sqlite',
      file: path.resolve('rel/x.sqlite'),
    });
    expect(loadConfig({ DATABASE_URL: 'sqlite::memory:' }).database).toEqual({
      kind: 'sqlite',
      file: ':memory:',
    });
    expect(problemsOf({ DATABASE_URL: 'mysql://db/etc' })).toEqual([
      'DATABASE_URL must start with postgres://, postgresql:// or sqlite:',
    ]);
    expect(problemsOf({ DATABASE_URL: 'sqlite:' })).toEqual([
      'DATABASE_URL sqlite: needs a file path, e.g. sqlite:./data/db.sqlite',
    ]);
  });

  it('PROVIDER=esign without credentials lists all three missing variables', () => {
    expect(problemsOf({ PROVIDER: 'esign' })).toEqual([
      'ESIGN_BASE_URL is required when PROVIDER=esign',
      'ESIGN_APP_ID is required when PROVIDER=esign',
      'ESIGN_APP_SECRET is required when PROVIDER=esign',
    ]);
    expect(problemsOf({ PROVIDER: 'esign', ESIGN_APP_ID: 'app' })).toEqual([
      'ESIGN_BASE_URL is required when PROVIDER=esign',
      'ESIGN_APP_SECRET is required when PROVIDER=esign',
    ]);
    const c = loadConfig({
      PROVIDER: 'esign',
      ESIGN_BASE_URL: 'https://smlopenapi.esign.cn/',
      ESIGN_APP_ID: 'app-1',
      ESIGN_APP_SECRET: 's3cret',
    });
    expect(c.provider).toBe('esign');
    expect(c.esign).toEqual({
      baseUrl: 'https://smlopenapi.esign.cn',
      appId: 'app-1',
      appSecret: 's3cret',
      faceMode: 'ZHIMACREDIT',
      connectTimeoutMs: 3000,
      requestTimeoutMs: 10_000,
      maxConnections: 512,
      callbackWindowMs: 15 * 60_000,
      circuitFailures: 5,
      circuitOpenMs: 30_000,
    });
  });

  it('reports many bad values together in one ConfigError whose message names each of them', () => {
    let caught: unknown;
    try {
      loadConfig({
        PORT: 'abc',
        PROVIDER: 'nope',
        LOG_LEVEL: 'loud',
        MIN_AGE: '-1',
        PUBLIC_BASE_URL: 'ftp://x',
        REDIS_URL: 'http://cache',
        NOTIFY_ALLOW_PRIVATE_NETWORKS: 'yes',
        SANDBOX_LINK_TTL_MINUTES: '1.5',
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const err = caught as ConfigError;
    expect(err.problems).toEqual([
      'PORT must be an integer from 0 to 65535 (got "abc")',
      'PUBLIC_BASE_URL must use http: or https:',
      'REDIS_URL must use redis: or rediss:',
      'PROVIDER must be one of sandbox, esign (got "nope")',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
      'MIN_AGE must be an integer from 0 to 120 (got "-1")',
      'SANDBOX_LINK_TTL_MINUTES must be an integer from 6 to 10080 (got "1.5")',
      'NOTIFY_ALLOW_PRIVATE_NETWORKS must be true or false',
    ]);
    expect(err.name).toBe('ConfigError');
    expect(err.message).toBe(`invalid configuration:\n${err.problems.map((p) => `  - ${p}`).join('\n')}`);
    expect(problemsOf({ PORT: '65536' })).toEqual(['PORT must be an integer from 0 to 65535 (got "65536")']);
    expect(problemsOf({ PUBLIC_BASE_URL: 'not a url' })).toEqual([
      'PUBLIC_BASE_URL is not a valid URL (got "not a url")',
    ]);
  });

  it('parses ENCRYPTION_KEYS (first key active, the rest kept) and BLIND_INDEX_KEY', () => {
    const c = loadConfig({ ENCRYPTION_KEYS: `k2:${k(2)},k1:${k(1)}`, BLIND_INDEX_KEY: k(3) });
    expect(c.keys?.encryption.map((e) => e.id)).toEqual(['k2', 'k1']);
    expect(c.keys?.encryption[0]?.key.equals(Buffer.alloc(32, 2))).toBe(true);
    expect(c.keys?.encryption[1]?.key.equals(Buffer.alloc(32, 1))).toBe(true);
    expect(c.keys?.blindIndex).toEqual([{ id: 'default', key: Buffer.alloc(32, 3) }]);
    // While the blind-index key is rotated: several under ids, the first one makes new digests.
    const rotating = loadConfig({
      ENCRYPTION_KEYS: `k1:${k(1)}`,
      BLIND_INDEX_KEY: `default:${k(3)},b1:${k(4)}`,
    });
    expect(rotating.keys?.blindIndex).toEqual([
      { id: 'default', key: Buffer.alloc(32, 3) },
      { id: 'b1', key: Buffer.alloc(32, 4) },
    ]);
    expect(problemsOf({ ENCRYPTION_KEYS: `k1:${k(1)}`, BLIND_INDEX_KEY: `b1:${k(3)},b1:${k(4)}` })).toEqual([
      'BLIND_INDEX_KEY names key id "b1" twice',
    ]);

    const shape = 'ENCRYPTION_KEYS must be "id:base64key[,id:base64key…]" with 32-byte keys';
    expect(
      problemsOf({ ENCRYPTION_KEYS: `k1:${Buffer.alloc(16).toString('base64')}`, BLIND_INDEX_KEY: k(3) }),
    ).toEqual([shape, 'ENCRYPTION_KEYS is required when BLIND_INDEX_KEY is set']);
    expect(problemsOf({ ENCRYPTION_KEYS: `bad id:${k(1)}`, BLIND_INDEX_KEY: k(3) })).toContain(shape);
    expect(problemsOf({ ENCRYPTION_KEYS: k(1), BLIND_INDEX_KEY: k(3) })).toContain(shape);
    expect(problemsOf({ ENCRYPTION_KEYS: `k1:${k(1)}` })).toEqual([
      'BLIND_INDEX_KEY must be a base64 32-byte key, or "id:base64key[,id:base64key…]"',
    ]);
    expect(problemsOf({ BLIND_INDEX_KEY: k(3) })).toEqual([
      'ENCRYPTION_KEYS is required when BLIND_INDEX_KEY is set',
    ]);
    // A bad key never appears in the message.
    const secret = Buffer.alloc(31, 9).toString('base64');
    expect(problemsOf({ ENCRYPTION_KEYS: `k1:${secret}`, BLIND_INDEX_KEY: secret }).join('\n')).not.toContain(
      secret,
    );
  });

  it('parses NOTIFY_RETRY_SCHEDULE as comma-separated durations and rejects malformed entries', () => {
    expect(loadConfig({ NOTIFY_RETRY_SCHEDULE: '0s, 250ms,5m ,2h,1d' }).notify.retryScheduleMs).toEqual([
      0, 250, 300_000, 7_200_000, 86_400_000,
    ]);
    expect(loadConfig({ NOTIFY_RETRY_SCHEDULE: '10s' }).notify.retryScheduleMs).toEqual([10_000]);
    for (const bad of ['5', '5x', '1s,,2s', ',', '-1s', '1.5s', '5 m']) {
      expect(problemsOf({ NOTIFY_RETRY_SCHEDULE: bad }), bad).toEqual([
        `NOTIFY_RETRY_SCHEDULE must be a comma-separated list like 0s,5s,5m,2h (got "${bad}")`,
      ]);
    }
  });
});

describe('parseDuration', () => {
  it('turns ms, s, m, h and d into milliseconds and anything else into null', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('90d')).toBe(90 * 86_400_000);
    for (const bad of ['', 'd', '1', '1w', '1.5h', ' 1h', '1H', '-1d'])
      expect(parseDuration(bad), bad).toBeNull();
  });
});

describe('strictness found by review', () => {
  const k = Buffer.alloc(32, 1).toString('base64');
  it('rejects repeated or malformed encryption key entries', () => {
    expect(() => loadConfig({ ENCRYPTION_KEYS: `k1:${k},k1:${k}`, BLIND_INDEX_KEY: k })).toThrow(
      /names key id "k1" twice/,
    );
    expect(() => loadConfig({ ENCRYPTION_KEYS: `k1:${k}:junk`, BLIND_INDEX_KEY: k })).toThrow(ConfigError);
  });
  it.each(['0x1F90', '1e3', ' 80 ', '80.0'])('rejects PORT=%s instead of reading it as a number', (port) => {
    expect(() => loadConfig({ PORT: port })).toThrow(ConfigError);
  });
  it('rejects a PUBLIC_BASE_URL with a query', () => {
    expect(() => loadConfig({ PUBLIC_BASE_URL: 'http://x/p?q=1' })).toThrow(/query or fragment/);
  });
});
