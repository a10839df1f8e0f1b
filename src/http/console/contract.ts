/**
 * The operator console's JSON API: one schema per call, shared by the route handlers (validation,
 * OpenAPI) and the console app (its API client's types come from `Static<…>` of these schemas, so
 * a change here breaks the console's typecheck instead of its users).
 *
 * Every response is the project envelope `{ requestId, responseCode, responseMsg, data }` (see
 * `../envelope.ts`); `data` below is what `ROUTES[…].response` describes. Errors: 401 without a
 * valid session (the console then shows its login page), 403 for a viewer calling an admin call, a
 * state-changing call without the CSRF header, or any call but `me`, `changePassword` and `logout`
 * while the password must still be changed; 404 for unknown ids; 400 with `data.errors` for bad
 * input; 429 (with `Retry-After`) when logins are throttled.
 *
 * Times are ISO 8601 strings with the Beijing offset (`2026-11-28T18:30:00+08:00`), as in the
 * client API. Personal data is masked everywhere except in the audited `reveal`.
 */
import { type Static, type TSchema, Type } from 'typebox';

export const CONSOLE_API = '/console/api';
/** Header carrying the session's CSRF token on every state-changing call. */
export const CSRF_HEADER = 'x-csrf-token';

/**
 * The console's static files, built by `npm run build` (Vite, `console/`), relative to the package
 * root. The app routes with the URL hash, so the gateway serves `index.html` at `/console/` and
 * hashed files under `/console/assets/`; nothing else.
 */
export const CONSOLE_STATIC_DIR = 'dist/console';

/**
 * Headers for the console's pages and files. Scripts only from the gateway itself (the build has no
 * inline script and no eval). Inline styles stay allowed: ECharts writes its tooltips as HTML with
 * style attributes; style attributes cannot run code.
 */
export const CONSOLE_PAGE_HEADERS = {
  'content-security-policy': [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; '),
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
} as const;

const Time = Type.String({ format: 'date-time' });
const NullableTime = Type.Union([Time, Type.Null()]);
const Count = Type.Integer({ minimum: 0 });
const Id = Type.String({ minLength: 1, maxLength: 64 });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Nullable(Type.String()) });
/** Query strings are not coerced (the app's Ajv runs with `coerceTypes: false`): `limit` is digits. */
const PageQuery = {
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
  /** 1..100, default 50. */
  limit: Type.Optional(Type.String({ pattern: '^(100|[1-9][0-9]?)$' })),
};

export const Role = Type.Union([Type.Literal('viewer'), Type.Literal('admin')]);

// Session

export const LoginBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 64 }),
  password: Type.String({ minLength: 1, maxLength: 256 }),
});

export const Me = Type.Object({
  username: Type.String(),
  role: Role,
  /** True after `operator create` / `reset-password`: only the password change is allowed. */
  mustChangePassword: Type.Boolean(),
  csrfToken: Type.String(),
});

/** Shared with the pages, which check the same before sending. */
export const MIN_PASSWORD_LENGTH = 10;
export const MIN_REVEAL_REASON = 4;

export const ChangePasswordBody = Type.Object({
  currentPassword: Type.String({ minLength: 1, maxLength: 256 }),
  newPassword: Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 256 }),
});

// Overview

export const OverviewQuery = Type.Object({
  range: Type.Union([Type.Literal('24h'), Type.Literal('7d'), Type.Literal('30d'), Type.Literal('custom')]),
  /** Only with `range=custom`. */
  from: Type.Optional(Time),
  until: Type.Optional(Time),
});

export const OutcomeCounts = Type.Object({
  new: Count,
  reused: Count,
  verified: Count,
  success: Count,
  failed: Count,
  expired: Count,
  superseded: Count,
});

export const Overview = Type.Object({
  from: Time,
  until: Time,
  /** Hours for up to 48 hours, days beyond. */
  bucket: Type.Union([Type.Literal('hour'), Type.Literal('day')]),
  /** One entry per bucket, oldest first, empty buckets included. */
  series: Type.Array(Type.Object({ at: Time, ...OutcomeCounts.properties })),
  totals: OutcomeCounts,
  funnel: Type.Object({ created: Count, opened: Count, completed: Count, success: Count }),
  clients: Type.Array(
    Type.Object({
      clientId: Type.String(),
      clientName: Type.String(),
      created: Count,
      success: Count,
      /** success / completed flows (0..1); null when none completed. */
      successRate: Nullable(Type.Number({ minimum: 0, maximum: 1 })),
      medianCompleteSeconds: Nullable(Type.Number({ minimum: 0 })),
    }),
  ),
  upstream: Type.Object({
    /** e签宝 calls by result, e.g. `ok`, `refused`, `timeout`, `unavailable`. */
    byResult: Type.Array(Type.Object({ result: Type.String(), count: Count })),
    latencyMs: Type.Object({
      p50: Nullable(Type.Number()),
      p90: Nullable(Type.Number()),
      p99: Nullable(Type.Number()),
    }),
  }),
  deliveries: Type.Object({
    /** Attempts in the range: answered 2xx, failed (will retry), given up (dead). */
    byOutcome: Type.Object({ delivered: Count, failed: Count, dead: Count }),
    /** Now, not in the range. */
    pending: Count,
    oldestPendingSeconds: Nullable(Count),
  }),
});

// Flows

export const FlowStatus = Type.Union([
  Type.Literal('PENDING'),
  Type.Literal('SUCCESS'),
  Type.Literal('FAILED'),
  Type.Literal('EXPIRED'),
  Type.Literal('SUPERSEDED'),
]);

export const MaskedPerson = Type.Object({
  name: Type.String(),
  idNumber: Type.String(),
  mobile: Type.String(),
});

/** A body, not a query string: ID numbers and mobiles never sit in a URL (proxy logs, history). */
export const FlowSearchBody = Type.Object({
  flowId: Type.Optional(Id),
  /** Exact match through the blind index. */
  idNumber: Type.Optional(Type.String({ maxLength: 32 })),
  mobile: Type.Optional(Type.String({ maxLength: 32 })),
  clientId: Type.Optional(Id),
  status: Type.Optional(FlowStatus),
  from: Type.Optional(Time),
  until: Type.Optional(Time),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
});

export const FlowSummary = Type.Object({
  flowId: Type.String(),
  clientId: Type.String(),
  clientName: Type.String(),
  provider: Type.String(),
  status: FlowStatus,
  createdAt: Time,
  openedAt: NullableTime,
  completedAt: NullableTime,
  person: MaskedPerson,
});

export const DeliveryStatus = Type.Union([
  Type.Literal('PENDING'),
  Type.Literal('DELIVERED'),
  Type.Literal('DEAD'),
]);

export const Delivery = Type.Object({
  deliveryId: Type.String(),
  clientId: Type.String(),
  clientName: Type.String(),
  flowId: Type.String(),
  type: Type.String(),
  status: DeliveryStatus,
  attempts: Count,
  lastAttemptAt: NullableTime,
  /** HTTP status of the last attempt; null when it got no answer or none was made. */
  lastStatus: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  nextAttemptAt: NullableTime,
  createdAt: Time,
  deliveredAt: NullableTime,
});

export const TimelineEvent = Type.Object({
  at: Time,
  kind: Type.Union([
    Type.Literal('created'),
    Type.Literal('reused'),
    Type.Literal('opened'),
    Type.Literal('result'),
    Type.Literal('delivery_attempt'),
  ]),
  /** `result`: the flow's new status. */
  status: Type.Optional(FlowStatus),
  failReason: Type.Optional(Type.String()),
  /** `delivery_attempt`: which delivery, its attempt number, HTTP status (null: no answer), time taken. */
  deliveryId: Type.Optional(Type.String()),
  attempt: Type.Optional(Type.Integer({ minimum: 1 })),
  httpStatus: Type.Optional(Nullable(Type.Integer())),
  latencyMs: Type.Optional(Nullable(Type.Integer({ minimum: 0 }))),
  error: Type.Optional(Type.String()),
});

export const FlowDetail = Type.Object({
  flow: Type.Object({
    ...FlowSummary.properties,
    providerFlowId: Nullable(Type.String()),
    expire: NullableTime,
    esignAccountId: Nullable(Type.String()),
    failReason: Nullable(Type.String()),
  }),
  /** Oldest first. */
  timeline: Type.Array(TimelineEvent),
  deliveries: Type.Array(Delivery),
});

export const FlowParams = Type.Object({ flowId: Id });

export const RevealBody = Type.Object({
  reason: Type.String({ minLength: MIN_REVEAL_REASON, maxLength: 200 }),
});

export const Revealed = Type.Object({
  name: Type.String(),
  idNumber: Type.String(),
  mobile: Type.String(),
  validPeriod: Type.String(),
});

// Clients and tokens

export const Client = Type.Object({
  clientId: Type.String(),
  name: Type.String(),
  sysIds: Type.Array(Type.String()),
  notifyUrl: Nullable(Type.String()),
  /** The endpoint answered 410 Gone: nothing is sent until the notify URL is set again. */
  notifyDisabled: Type.Boolean(),
  hasWebhookSecret: Type.Boolean(),
  activeTokens: Count,
  lastUsedAt: NullableTime,
  createdAt: Time,
});

export const ClientParams = Type.Object({ clientId: Id });

export const CreateClientBody = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' }),
  notifyUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
});

/** `webhookSecret` is shown once: when the client got one by this call, else null. */
export const ClientWithSecret = Type.Object({ client: Client, webhookSecret: Nullable(Type.String()) });

export const NotifyUrlBody = Type.Object({ notifyUrl: Type.String({ minLength: 1, maxLength: 2048 }) });

export const RotatedSecret = Type.Object({
  webhookSecret: Type.String(),
  /** The previous secret keeps signing alongside the new one until then. */
  previousValidUntil: NullableTime,
});

export const Token = Type.Object({
  tokenId: Type.String(),
  /** The token's first 4 characters, to match a leaked token to its row; null for tokens made before it was kept. */
  prefix: Type.Union([Type.String(), Type.Null()]),
  clientId: Type.String(),
  clientName: Type.String(),
  createdAt: Time,
  expiresAt: NullableTime,
  revokedAt: NullableTime,
  lastUsedAt: NullableTime,
});

export const TokenQuery = Type.Object({ clientId: Type.Optional(Id) });

export const CreateTokenBody = Type.Object({
  clientId: Id,
  /** Omitted: the token never expires. */
  ttlDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
});

/** `value` is the 32-character token, shown once. */
export const CreatedToken = Type.Object({ token: Token, value: Type.String() });

export const TokenParams = Type.Object({ tokenId: Id });

// Deliveries

export const DeliveryQuery = Type.Object({
  /** `failing`: pending with at least one failed attempt; `dead`: given up. Omitted: both. */
  status: Type.Optional(Type.Union([Type.Literal('failing'), Type.Literal('dead')])),
  clientId: Type.Optional(Id),
  ...PageQuery,
});

export const DeliveryParams = Type.Object({ deliveryId: Id });

export const RedeliverClientBody = Type.Object({ clientId: Id });

/** How many failing and dead deliveries were queued to be sent again at once. */
export const Requeued = Type.Object({ requeued: Count });

// Audit

export const AuditQuery = Type.Object({
  actor: Type.Optional(Type.String({ maxLength: 64 })),
  action: Type.Optional(Type.String({ maxLength: 64 })),
  /** A flow id, client id, token id, delivery id or operator name the action was about. */
  target: Type.Optional(Type.String({ maxLength: 64 })),
  from: Type.Optional(Time),
  until: Type.Optional(Time),
  ...PageQuery,
});

export const AuditEntry = Type.Object({
  id: Type.String(),
  at: Time,
  /** Operator username (or `cli` for command-line actions). */
  actor: Type.String(),
  /** e.g. `flow.reveal`, `client.create`, `client.update`, `client.rotate-secret`, `token.create`,
   * `token.revoke`, `delivery.redeliver`, `operator.login`. */
  action: Type.String(),
  target: Nullable(Type.String()),
  reason: Nullable(Type.String()),
});

// The route table: what the handlers register and the console calls.

export interface ConsoleRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Fastify-style path, `:name` for parameters. */
  path: string;
  params?: TSchema;
  query?: TSchema;
  body?: TSchema;
  /** The envelope's `data` on success. */
  response: TSchema;
  /** `none`: callable without a session (login only). */
  role: 'none' | Static<typeof Role>;
  /** Changes state: needs the CSRF header (the console sends it on every non-GET call). */
  stateChanging: boolean;
}

const route = <const R extends ConsoleRoute>(r: R) => r;
const p = (path: string) => `${CONSOLE_API}${path}`;

export const ROUTES = {
  login: route({
    method: 'POST',
    path: p('/session'),
    body: LoginBody,
    response: Me,
    role: 'none',
    stateChanging: false,
  }),
  me: route({ method: 'GET', path: p('/session'), response: Me, role: 'viewer', stateChanging: false }),
  logout: route({
    method: 'DELETE',
    path: p('/session'),
    response: Type.Null(),
    role: 'viewer',
    stateChanging: true,
  }),
  changePassword: route({
    method: 'POST',
    path: p('/session/password'),
    body: ChangePasswordBody,
    response: Me,
    role: 'viewer',
    stateChanging: true,
  }),
  overview: route({
    method: 'GET',
    path: p('/overview'),
    query: OverviewQuery,
    response: Overview,
    role: 'viewer',
    stateChanging: false,
  }),
  searchFlows: route({
    method: 'POST',
    path: p('/flows/search'),
    body: FlowSearchBody,
    response: Page(FlowSummary),
    role: 'viewer',
    stateChanging: false,
  }),
  flowDetail: route({
    method: 'GET',
    path: p('/flows/:flowId'),
    params: FlowParams,
    response: FlowDetail,
    role: 'viewer',
    stateChanging: false,
  }),
  reveal: route({
    method: 'POST',
    path: p('/flows/:flowId/reveal'),
    params: FlowParams,
    body: RevealBody,
    response: Revealed,
    role: 'admin',
    stateChanging: true,
  }),
  listClients: route({
    method: 'GET',
    path: p('/clients'),
    response: Type.Object({ items: Type.Array(Client) }),
    role: 'viewer',
    stateChanging: false,
  }),
  createClient: route({
    method: 'POST',
    path: p('/clients'),
    body: CreateClientBody,
    response: ClientWithSecret,
    role: 'admin',
    stateChanging: true,
  }),
  setNotifyUrl: route({
    method: 'PUT',
    path: p('/clients/:clientId/notify-url'),
    params: ClientParams,
    body: NotifyUrlBody,
    response: ClientWithSecret,
    role: 'admin',
    stateChanging: true,
  }),
  rotateSecret: route({
    method: 'POST',
    path: p('/clients/:clientId/webhook-secret'),
    params: ClientParams,
    response: RotatedSecret,
    role: 'admin',
    stateChanging: true,
  }),
  listTokens: route({
    method: 'GET',
    path: p('/tokens'),
    query: TokenQuery,
    response: Type.Object({ items: Type.Array(Token) }),
    role: 'admin',
    stateChanging: false,
  }),
  createToken: route({
    method: 'POST',
    path: p('/tokens'),
    body: CreateTokenBody,
    response: CreatedToken,
    role: 'admin',
    stateChanging: true,
  }),
  revokeToken: route({
    method: 'POST',
    path: p('/tokens/:tokenId/revoke'),
    params: TokenParams,
    response: Token,
    role: 'admin',
    stateChanging: true,
  }),
  listDeliveries: route({
    method: 'GET',
    path: p('/deliveries'),
    query: DeliveryQuery,
    response: Page(Delivery),
    role: 'viewer',
    stateChanging: false,
  }),
  redeliver: route({
    method: 'POST',
    path: p('/deliveries/:deliveryId/redeliver'),
    params: DeliveryParams,
    response: Delivery,
    role: 'admin',
    stateChanging: true,
  }),
  redeliverClient: route({
    method: 'POST',
    path: p('/deliveries/redeliver'),
    body: RedeliverClientBody,
    response: Requeued,
    role: 'admin',
    stateChanging: true,
  }),
  listAudit: route({
    method: 'GET',
    path: p('/audit'),
    query: AuditQuery,
    response: Page(AuditEntry),
    role: 'admin',
    stateChanging: false,
  }),
} as const satisfies Record<string, ConsoleRoute>;

export type RouteName = keyof typeof ROUTES;
type Of<R, K extends string> = R extends Record<K, infer S extends TSchema> ? Static<S> : undefined;
export type ResponseOf<N extends RouteName> = Static<(typeof ROUTES)[N]['response']>;
export type BodyOf<N extends RouteName> = Of<(typeof ROUTES)[N], 'body'>;
export type QueryOf<N extends RouteName> = Of<(typeof ROUTES)[N], 'query'>;
export type ParamsOf<N extends RouteName> = Of<(typeof ROUTES)[N], 'params'>;
