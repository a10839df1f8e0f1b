import path from 'node:path';
import { DEFAULT_BLIND_KEY_ID } from './crypto/keys.js';

/** The face modes e签宝 offers for its H5 face page. */
export const ESIGN_FACE_MODES = ['ZHIMACREDIT', 'TENCENT', 'ESIGN', 'WE_CHAT_FACE'] as const;
export type EsignFaceMode = (typeof ESIGN_FACE_MODES)[number];

export interface EsignConfig {
  /** Origin only, e.g. `https://smlopenapi.esign.cn`. */
  baseUrl: string;
  appId: string;
  appSecret: string;
  faceMode: EsignFaceMode;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** Keep-alive connections to e签宝: caps concurrent upstream calls (each ~200 ms or more). */
  maxConnections: number;
  /** How far a callback's timestamp may be from our clock. */
  callbackWindowMs: number;
  /** Circuit breaker: consecutive failures that open it, and how long it stays open before a probe. */
  circuitFailures: number;
  circuitOpenMs: number;
}

/**
 * All configuration, read and validated once at start. Everything else receives a `Config`;
 * nothing below this module reads `process.env`.
 */
export interface Config {
  port: number;
  host: string;
  publicBaseUrl: string;
  dataDir: string;
  database:
    | { kind: 'sqlite'; file: string }
    | {
        kind: 'postgres';
        url: string;
        poolSize: number;
        /** Getting a pooled connection (or opening one) fails after this: requests fail fast while the server is away. */
        connectTimeoutMs: number;
        /** A query without an answer after this fails (a hung or partitioned server). */
        queryTimeoutMs: number;
      };
  redisUrl: string | null;
  /** Prefix of every Redis key this deployment writes; two deployments can share one Redis. */
  redisKeyPrefix: string;
  provider: 'sandbox' | 'esign';
  esign: EsignConfig | null;
  logLevel: string;
  minAge: number;
  sandboxLinkTtlMs: number;
  sweepIntervalMs: number;
  /** `ENCRYPTION_KEYS`/`BLIND_INDEX_KEY` from the environment; null means "use the key file". */
  keys: { encryption: { id: string; key: Buffer }[]; blindIndex: { id: string; key: Buffer }[] } | null;
  shutdownTimeoutMs: number;
  rateLimits: {
    /** Requests per second per token. */
    perToken: number;
    /**
     * New face flows per client and person per 24 hours (reused links and verified answers do not
     * count): per client, because the spend it protects is the client's.
     */
    newFlowsPerPerson: number;
    /** New face flows per person per 24 hours over all clients together, against abuse; 0 = off. */
    newFlowsPerPersonAllClients: number;
    /** Short-link opens per IP per minute. */
    shortLinkPerIp: number;
  };
  /** Socket limits of the HTTP listener (see `loadConfig` for why the defaults are what they are). */
  http: {
    /** The whole request (headers and body) must arrive within this; stalled senders are cut off. */
    requestTimeoutMs: number;
    /** The headers must arrive within this (answered 408 otherwise). */
    headersTimeoutMs: number;
    /** A socket with no traffic either way for this long is closed (longer than any request takes to answer). */
    idleTimeoutMs: number;
    keepAliveTimeoutMs: number;
    /** Open sockets in all (keep it below the process's file-descriptor limit). */
    maxConnections: number;
    /** Open sockets per peer address; 0 = no cap. Not applied behind a trusted proxy (every peer is the proxy). */
    maxConnectionsPerIp: number;
  };
  /** Fastify `trustProxy`: false, true, a hop count, or a comma-separated list of proxy addresses. */
  trustProxy: boolean | number | string;
  reconcileIntervalMs: number;
  notify: {
    /** Delay before each attempt, in ms; after the last one fails the delivery is dead. */
    retryScheduleMs: number[];
    allowPrivateNetworks: boolean;
    timeoutMs: number;
    dispatchIntervalMs: number;
    /** How long a rotated-out webhook secret still signs alongside the new one. */
    secretGraceMs: number;
  };
  lifecycle: {
    /** Personal fields of flows final longer than this are erased (0: at the next run). */
    retentionDays: number;
    /** Audit events older than this are pruned. */
    auditRetentionDays: number;
    /** How often a serving process runs retention. */
    intervalMs: number;
    /** How often a serving process checks for a rotated key and re-encrypts a share of old values. */
    keyRefreshMs: number;
  };
  /** Operator console: session lifetime, and the optional second listener it moves to. */
  console: { sessionHours: number; adminPort: number | null; adminHost: string; secureCookie: boolean };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Every environment variable the gateway reads, with its default as it would be written in the
 * environment (null: unset; `shown` says what that means) and one line of help. `loadConfig` takes
 * its defaults from here, `serve --help` prints it, and `deploy/.env.example` is tested against it.
 */
export const SETTINGS = {
  PORT: { default: '8080', help: 'TCP port of the HTTP listener' },
  HOST: {
    default: '127.0.0.1',
    help: 'listen address; 0.0.0.0 for every interface (in a container, or without a reverse proxy)',
  },
  PUBLIC_BASE_URL: {
    default: null,
    shown: 'default: http://localhost:$PORT',
    help: 'public origin of short links, sandbox pages and e签宝 callback URLs',
  },
  TRUST_PROXY: {
    default: 'false',
    help: 'trust X-Forwarded-For: false, true, a hop count, or proxy addresses',
  },
  SHUTDOWN_TIMEOUT_MS: { default: '10000', help: 'hard limit of a graceful shutdown' },
  DATA_DIR: { default: './data', help: 'directory of the SQLite file and the key file' },
  DATABASE_URL: {
    default: null,
    shown: 'default: SQLite file in DATA_DIR',
    help: 'postgres://user:password@host:5432/db, or sqlite:/path/file.sqlite',
  },
  DATABASE_POOL_SIZE: { default: '10', help: 'PostgreSQL connections per process' },
  DATABASE_CONNECT_TIMEOUT_MS: {
    default: '3000',
    help: 'a request waiting for a PostgreSQL connection gives up (503) after this',
  },
  DATABASE_QUERY_TIMEOUT_MS: {
    default: '15000',
    help: 'a PostgreSQL query without an answer fails after this',
  },
  REDIS_URL: {
    default: null,
    shown: 'unset: rate limits counted in memory',
    help: 'redis://host:6379/0: rate limits shared by every process',
  },
  REDIS_KEY_PREFIX: { default: 'etc-esign:', help: 'prefix of every Redis key the gateway writes' },
  ENCRYPTION_KEYS: {
    default: null,
    shown: 'default: key file in DATA_DIR',
    help: 'id:base64key[,id:base64key...], 32-byte keys; the first encrypts',
  },
  BLIND_INDEX_KEY: {
    default: null,
    shown: 'default: key file in DATA_DIR',
    help: 'base64 32-byte key of the lookup indexes (ID number, links), or id:base64key[,id:base64key...] while rotating it',
  },
  PROVIDER: { default: 'sandbox', help: 'sandbox (local pages) or esign (e签宝)' },
  ESIGN_BASE_URL: {
    default: null,
    shown: 'required with PROVIDER=esign',
    help: 'e签宝 API origin, e.g. https://smlopenapi.esign.cn',
  },
  ESIGN_APP_ID: { default: null, shown: 'required with PROVIDER=esign', help: 'e签宝 app id' },
  ESIGN_APP_SECRET: { default: null, shown: 'required with PROVIDER=esign', help: 'e签宝 app secret' },
  ESIGN_FACE_MODE: {
    default: 'ZHIMACREDIT',
    help: 'face channel: ZHIMACREDIT, TENCENT, ESIGN or WE_CHAT_FACE',
  },
  ESIGN_CONNECT_TIMEOUT_MS: { default: '3000', help: 'connect timeout to e签宝' },
  ESIGN_REQUEST_TIMEOUT_MS: { default: '10000', help: 'total timeout of one e签宝 call' },
  ESIGN_MAX_CONNECTIONS: { default: '512', help: 'keep-alive connections to e签宝' },
  ESIGN_CALLBACK_WINDOW_MS: { default: '900000', help: 'accepted clock skew of e签宝 callbacks' },
  ESIGN_CIRCUIT_FAILURES: {
    default: '5',
    help: 'consecutive e签宝 failures (unreachable, 5xx, timeout) that open the circuit',
  },
  ESIGN_CIRCUIT_OPEN_MS: { default: '30000', help: 'how long the circuit stays open before one probe call' },
  SANDBOX_LINK_TTL_MINUTES: { default: '30', help: 'lifetime of sandbox links' },
  MIN_AGE: { default: '18', help: 'minimum age to sign (UNDERAGE below it)' },
  RATE_LIMIT_PER_TOKEN: { default: '50', help: 'requests per second per token' },
  RATE_LIMIT_NEW_FLOWS_PER_PERSON: {
    default: '5',
    help: 'new face flows per client and person per 24 hours',
  },
  RATE_LIMIT_NEW_FLOWS_PER_PERSON_ALL_CLIENTS: {
    default: '0',
    help: 'new face flows per person per 24 hours over all clients together (0: off)',
  },
  RATE_LIMIT_SHORT_LINK_PER_IP: {
    default: '60',
    help: 'unknown short codes per IP per minute; over it, every open from that IP gets 429',
  },
  HTTP_REQUEST_TIMEOUT_MS: {
    default: '30000',
    help: 'a whole request (headers and body) must arrive within this',
  },
  HTTP_HEADERS_TIMEOUT_MS: { default: '15000', help: 'the headers must arrive within this (else 408)' },
  HTTP_IDLE_TIMEOUT_MS: { default: '90000', help: 'a socket without traffic for this long is closed' },
  HTTP_KEEP_ALIVE_TIMEOUT_MS: { default: '72000', help: 'idle keep-alive sockets are closed after this' },
  HTTP_MAX_CONNECTIONS: { default: '4096', help: 'open sockets in all (keep below ulimit -n)' },
  HTTP_MAX_CONNECTIONS_PER_IP: {
    default: '256',
    help: 'open sockets per peer address (0: no cap; not applied with TRUST_PROXY)',
  },
  SWEEP_INTERVAL_MS: { default: '60000', help: 'how often expired pending flows are marked EXPIRED' },
  RECONCILE_INTERVAL_MS: { default: '60000', help: 'how often pending flows are checked with the provider' },
  NOTIFY_RETRY_SCHEDULE: {
    default: '0s,5s,5m,30m,2h,5h,10h,10h',
    help: 'delays before each notification attempt',
  },
  NOTIFY_TIMEOUT_MS: { default: '10000', help: 'timeout of one notification attempt' },
  NOTIFY_DISPATCH_INTERVAL_MS: { default: '1000', help: 'how often the notification outbox is polled' },
  NOTIFY_ALLOW_PRIVATE_NETWORKS: {
    default: 'false',
    help: 'allow http:// and private addresses as notify URLs (development only)',
  },
  WEBHOOK_SECRET_GRACE_HOURS: { default: '24', help: 'how long a rotated-out webhook secret still signs' },
  RETENTION_DAYS: {
    default: '90',
    help: 'personal fields of a flow are erased this many days after it became final',
  },
  AUDIT_RETENTION_DAYS: { default: '1095', help: 'audit events older than this are pruned' },
  RETENTION_INTERVAL_MS: { default: '3600000', help: 'how often each serving process runs retention' },
  KEY_REFRESH_INTERVAL_MS: {
    default: '10000',
    help: 'how often a process follows a rotated key and re-encrypts a share of old values',
  },
  ADMIN_PORT: {
    default: null,
    shown: 'unset: /console and /metrics on the main port',
    help: 'port of a second listener that alone serves /console, its API and /metrics',
  },
  ADMIN_HOST: { default: '127.0.0.1', help: 'listen address of the ADMIN_PORT listener' },
  CONSOLE_SESSION_HOURS: { default: '8', help: 'lifetime of an operator console session' },
  LOG_LEVEL: {
    default: 'info',
    help: 'fatal, error, warn, info, debug, trace or silent; debug adds stack traces to start-up errors',
  },
} as const satisfies Record<string, { default: string | null; shown?: string; help: string }>;

export type SettingName = keyof typeof SETTINGS;

/** The settings table as text, for `serve --help`. */
export function describeSettings(): string {
  const rows = Object.entries(SETTINGS).map(([name, s]) => {
    const shown = s.default === null ? ('shown' in s ? s.shown : 'unset') : `default: ${s.default}`;
    return { name, text: `${s.help} (${shown})` };
  });
  const width = Math.max(...rows.map((r) => r.name.length));
  return `${rows.map((r) => `  ${r.name.padEnd(width)}  ${r.text}`).join('\n')}\n`;
}

/** Whether errors should carry their stack trace (`LOG_LEVEL=debug` or `trace`). */
export function wantsStackTraces(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.LOG_LEVEL === 'debug' || env.LOG_LEVEL === 'trace';
}

const defaultOf = (name: SettingName): string => SETTINGS[name].default ?? '';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const int = (name: SettingName, min: number, max: number): number => {
    const fallback = Number(defaultOf(name));
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };
  const url = (name: string, value: string, protocols: string[]): string => {
    try {
      const u = new URL(value);
      if (!protocols.includes(u.protocol)) problems.push(`${name} must use ${protocols.join(' or ')}`);
      // Paths are appended to it: a query or fragment would swallow them.
      if (u.search || u.hash) problems.push(`${name} must not have a query or fragment`);
    } catch {
      problems.push(`${name} is not a valid URL (got "${value}")`);
    }
    return value.replace(/\/+$/, '');
  };
  const oneOf = <T extends string>(name: SettingName, allowed: readonly T[]): T => {
    const fallback = defaultOf(name) as T;
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return fallback;
    }
    return raw as T;
  };

  const port = int('PORT', 0, 65535);
  const host = env.HOST || defaultOf('HOST');
  const publicBaseUrl = url('PUBLIC_BASE_URL', env.PUBLIC_BASE_URL || `http://localhost:${port}`, [
    'http:',
    'https:',
  ]);
  const dataDir = path.resolve(env.DATA_DIR || defaultOf('DATA_DIR'));

  let database: Config['database'] = { kind: 'sqlite', file: path.join(dataDir, 'etc-esign.sqlite') };
  const dbUrl = env.DATABASE_URL;
  if (dbUrl) {
    if (/^postgres(ql)?:\/\//.test(dbUrl)) {
      database = {
        kind: 'postgres',
        url: dbUrl,
        poolSize: int('DATABASE_POOL_SIZE', 1, 500),
        connectTimeoutMs: int('DATABASE_CONNECT_TIMEOUT_MS', 100, 600_000),
        queryTimeoutMs: int('DATABASE_QUERY_TIMEOUT_MS', 100, 3_600_000),
      };
    } else if (dbUrl.startsWith('sqlite:')) {
      const file = dbUrl.slice('sqlite:'.length).replace(/^\/\//, '');
      if (!file) problems.push('DATABASE_URL sqlite: needs a file path, e.g. sqlite:./data/db.sqlite');
      database = { kind: 'sqlite', file: file === ':memory:' ? file : path.resolve(file) };
    } else {
      problems.push('DATABASE_URL must start with postgres://, postgresql:// or sqlite:');
    }
  }

  const redisUrl = env.REDIS_URL ? url('REDIS_URL', env.REDIS_URL, ['redis:', 'rediss:']) : null;
  const redisKeyPrefix = env.REDIS_KEY_PREFIX || defaultOf('REDIS_KEY_PREFIX');
  const provider = oneOf('PROVIDER', ['sandbox', 'esign'] as const);

  let esign: Config['esign'] = null;
  if (provider === 'esign') {
    for (const name of ['ESIGN_BASE_URL', 'ESIGN_APP_ID', 'ESIGN_APP_SECRET']) {
      if (!env[name]) problems.push(`${name} is required when PROVIDER=esign`);
    }
    esign = {
      baseUrl: env.ESIGN_BASE_URL ? url('ESIGN_BASE_URL', env.ESIGN_BASE_URL, ['http:', 'https:']) : '',
      appId: env.ESIGN_APP_ID ?? '',
      appSecret: env.ESIGN_APP_SECRET ?? '',
      faceMode: oneOf('ESIGN_FACE_MODE', ESIGN_FACE_MODES),
      connectTimeoutMs: int('ESIGN_CONNECT_TIMEOUT_MS', 1, 600_000),
      requestTimeoutMs: int('ESIGN_REQUEST_TIMEOUT_MS', 1, 600_000),
      maxConnections: int('ESIGN_MAX_CONNECTIONS', 1, 10_000),
      callbackWindowMs: int('ESIGN_CALLBACK_WINDOW_MS', 1000, 86_400_000),
      circuitFailures: int('ESIGN_CIRCUIT_FAILURES', 1, 1000),
      circuitOpenMs: int('ESIGN_CIRCUIT_OPEN_MS', 100, 3_600_000),
    };
  }

  const logLevel = oneOf('LOG_LEVEL', LOG_LEVELS);
  const minAge = int('MIN_AGE', 0, 120);
  const sandboxLinkTtlMs = int('SANDBOX_LINK_TTL_MINUTES', 6, 7 * 24 * 60) * 60_000;
  const sweepIntervalMs = int('SWEEP_INTERVAL_MS', 100, 86_400_000);
  const shutdownTimeoutMs = int('SHUTDOWN_TIMEOUT_MS', 100, 600_000);

  const rateLimits = {
    perToken: int('RATE_LIMIT_PER_TOKEN', 1, 1_000_000),
    newFlowsPerPerson: int('RATE_LIMIT_NEW_FLOWS_PER_PERSON', 1, 1_000_000),
    newFlowsPerPersonAllClients: int('RATE_LIMIT_NEW_FLOWS_PER_PERSON_ALL_CLIENTS', 0, 1_000_000),
    shortLinkPerIp: int('RATE_LIMIT_SHORT_LINK_PER_IP', 1, 1_000_000),
  };
  // A phone on a poor 3G link (~100 kbit/s, 1–2 s round trips) sends our largest request (16 KiB
  // body) in 2–4 s: 30 s for a whole request and 15 s for its headers leave it a wide margin while
  // a stalled sender holds a socket for at most that long. The idle timeout must outlast the
  // slowest answer we give (an upstream call with its wait budget, ~25 s) and the keep-alive
  // timeout, which stays Fastify's 72 s: longer than the 60 s idle timeout of common load
  // balancers, so they close idle connections first and never send into one we are closing.
  const http = {
    requestTimeoutMs: int('HTTP_REQUEST_TIMEOUT_MS', 100, 600_000),
    headersTimeoutMs: int('HTTP_HEADERS_TIMEOUT_MS', 100, 600_000),
    idleTimeoutMs: int('HTTP_IDLE_TIMEOUT_MS', 100, 3_600_000),
    keepAliveTimeoutMs: int('HTTP_KEEP_ALIVE_TIMEOUT_MS', 100, 3_600_000),
    maxConnections: int('HTTP_MAX_CONNECTIONS', 1, 1_000_000),
    maxConnectionsPerIp: int('HTTP_MAX_CONNECTIONS_PER_IP', 0, 1_000_000),
  };
  if (http.headersTimeoutMs > http.requestTimeoutMs)
    problems.push('HTTP_HEADERS_TIMEOUT_MS must not be longer than HTTP_REQUEST_TIMEOUT_MS');
  const trustRaw = env.TRUST_PROXY || defaultOf('TRUST_PROXY');
  const trustProxy: boolean | number | string =
    trustRaw === '' || trustRaw === 'false'
      ? false
      : trustRaw === 'true'
        ? true
        : /^\d+$/.test(trustRaw)
          ? Number(trustRaw)
          : trustRaw;
  const reconcileIntervalMs = int('RECONCILE_INTERVAL_MS', 100, 86_400_000);
  const scheduleRaw = env.NOTIFY_RETRY_SCHEDULE || defaultOf('NOTIFY_RETRY_SCHEDULE');
  const retryScheduleMs = scheduleRaw.split(',').map((part) => parseDuration(part.trim()));
  if (retryScheduleMs.some((ms) => ms === null) || retryScheduleMs.length === 0) {
    problems.push(
      `NOTIFY_RETRY_SCHEDULE must be a comma-separated list like 0s,5s,5m,2h (got "${scheduleRaw}")`,
    );
  }
  const allowPrivate = env.NOTIFY_ALLOW_PRIVATE_NETWORKS || defaultOf('NOTIFY_ALLOW_PRIVATE_NETWORKS');
  if (!['true', 'false'].includes(allowPrivate))
    problems.push('NOTIFY_ALLOW_PRIVATE_NETWORKS must be true or false');
  const notify = {
    retryScheduleMs: retryScheduleMs.map((ms) => ms ?? 0),
    allowPrivateNetworks: allowPrivate === 'true',
    timeoutMs: int('NOTIFY_TIMEOUT_MS', 100, 600_000),
    dispatchIntervalMs: int('NOTIFY_DISPATCH_INTERVAL_MS', 10, 600_000),
    secretGraceMs: int('WEBHOOK_SECRET_GRACE_HOURS', 0, 24 * 90) * 3_600_000,
  };

  const lifecycle = {
    retentionDays: int('RETENTION_DAYS', 0, 36_500),
    auditRetentionDays: int('AUDIT_RETENTION_DAYS', 1, 36_500),
    intervalMs: int('RETENTION_INTERVAL_MS', 100, 86_400_000),
    keyRefreshMs: int('KEY_REFRESH_INTERVAL_MS', 100, 3_600_000),
  };
  const adminPort = env.ADMIN_PORT ? int('ADMIN_PORT', 0, 65535) : null;
  if (adminPort !== null && adminPort !== 0 && adminPort === port)
    problems.push('ADMIN_PORT must differ from PORT');
  const consoleConfig = {
    sessionHours: int('CONSOLE_SESSION_HOURS', 1, 24 * 30),
    adminPort,
    adminHost: env.ADMIN_HOST || defaultOf('ADMIN_HOST'),
    secureCookie: publicBaseUrl.startsWith('https:'),
  };

  let keys: Config['keys'] = null;
  if (env.ENCRYPTION_KEYS || env.BLIND_INDEX_KEY) {
    const encryption = keyList('ENCRYPTION_KEYS', env.ENCRYPTION_KEYS ?? '', problems);
    if (encryption.length === 0) problems.push('ENCRYPTION_KEYS is required when BLIND_INDEX_KEY is set');
    const blindText = env.BLIND_INDEX_KEY ?? '';
    // A bare key (every deployment before blind-index rotation) is the key `default`.
    const blindIndex = blindText.includes(':')
      ? keyList('BLIND_INDEX_KEY', blindText, problems)
      : [{ id: DEFAULT_BLIND_KEY_ID, key: Buffer.from(blindText, 'base64') }];
    if (blindIndex.some((k) => k.key.length !== 32) || blindIndex.length === 0)
      problems.push('BLIND_INDEX_KEY must be a base64 32-byte key, or "id:base64key[,id:base64key…]"');
    keys = { encryption, blindIndex };
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port,
    host,
    publicBaseUrl,
    dataDir,
    database,
    redisUrl,
    redisKeyPrefix,
    provider,
    esign,
    logLevel,
    minAge,
    sandboxLinkTtlMs,
    sweepIntervalMs,
    keys,
    shutdownTimeoutMs,
    rateLimits,
    http,
    trustProxy,
    reconcileIntervalMs,
    notify,
    lifecycle,
    console: consoleConfig,
  };
}

/** `id:base64key[,id:base64key…]` with 32-byte keys under distinct, well-formed ids. */
function keyList(name: string, text: string, problems: string[]): { id: string; key: Buffer }[] {
  const keys: { id: string; key: Buffer }[] = [];
  for (const part of text.split(',').filter(Boolean)) {
    const [id, b64, ...rest] = part.split(':');
    const key = Buffer.from(b64 ?? '', 'base64');
    if (!id || !/^[A-Za-z0-9_-]{1,16}$/.test(id) || key.length !== 32 || rest.length > 0) {
      problems.push(`${name} must be "id:base64key[,id:base64key…]" with 32-byte keys`);
    } else if (keys.some((k) => k.id === id)) {
      problems.push(`${name} names key id "${id}" twice`);
    } else keys.push({ id, key });
  }
  return keys;
}

/**
 * What `fake-esign` needs: the same app credentials the gateway would use, so both sides agree
 * without repeating them on the command line. It needs nothing else, so it must not fail on the
 * rest of the gateway's configuration.
 */
export function loadFakeEsignDefaults(env: NodeJS.ProcessEnv = process.env): {
  appId: string;
  appSecret: string;
  logLevel: string;
} {
  return {
    appId: env.ESIGN_APP_ID || 'fake-app-id',
    appSecret: env.ESIGN_APP_SECRET || 'fake-app-secret',
    logLevel: env.LOG_LEVEL || 'info',
  };
}

/** `90s`, `5m`, `2h`, `1d`, `250ms` → milliseconds; null when malformed. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!m) return null;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    m[2] as 'ms' | 's' | 'm' | 'h' | 'd'
  ];
  return Number(m[1]) * unit;
}
