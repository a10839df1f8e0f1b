import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/** Times are epoch milliseconds in a bigint column on both dialects. */
type Millis = number;

export type FlowStatus = 'CREATING' | 'PENDING' | 'SUCCESS' | 'FAILED' | 'EXPIRED' | 'SUPERSEDED';

export interface ClientsTable {
  id: string;
  name: string;
  sys_ids: string;
  notify_url: string | null;
  webhook_secret_enc: string | null;
  /** The secret before the last rotation; it signs alongside the new one until `_until`. */
  webhook_secret_prev_enc: string | null;
  webhook_secret_prev_until: Millis | null;
  /** Set when the endpoint answered 410 Gone; nothing is sent until the notify URL is updated. */
  notify_disabled_at: Millis | null;
  created_at: Millis;
}

export interface TokensTable {
  id: string;
  client_id: string;
  token_hash: string;
  /** First four characters of the token (null for tokens older than migration 008). */
  prefix: string | null;
  created_at: Millis;
  expires_at: Millis | null;
  revoked_at: Millis | null;
  last_used_at: Millis | null;
}

export interface PersonsTable {
  id: string;
  /** Blind index of the normalized ID number. */
  id_index: string;
  name_enc: string;
  id_number_enc: string;
  id_kind: string;
  account_id: string | null;
  verified_at: Millis | null;
  /** Blind index of the name the person was verified under: "verified" needs the same name. */
  verified_name_index: string | null;
  created_at: Millis;
  /** Name and ID number were erased (set to ''); the blind indexes and verification stay. */
  erased_at: Millis | null;
  /** The blind-index key of `id_index` (migration 009). */
  blind_key_id: Generated<string>;
  /** The blind-index key of `verified_name_index`; null while there is none. */
  verified_name_key_id: string | null;
}

export interface FlowsTable {
  id: string;
  client_id: string;
  person_id: string;
  provider: string;
  provider_flow_id: string | null;
  status: FlowStatus;
  /** Blind index over the four normalized request fields: "same request" without decrypting. */
  fingerprint: string;
  /** Keyed digest of the short code (the code is a capability: a database dump must not hold it). */
  short_code: string;
  /** The short code, encrypted, to hand the same link out again; null on rows not yet sealed. */
  short_code_enc: string | null;
  /** The provider's link, encrypted (a sandbox link alone would let anyone finish the flow). */
  original_url: string | null;
  expire_at: Millis | null;
  name_enc: string;
  mobile_enc: string;
  valid_period_enc: string;
  account_id: string | null;
  fail_reason: string | null;
  created_at: Millis;
  updated_at: Millis;
  opened_at: Millis | null;
  completed_at: Millis | null;
  /**
   * When reconciliation may ask the provider about this pending flow again (null: at once). A
   * claim moves it forward first, so it doubles as the claim's lease.
   */
  reconcile_due_at: Millis | null;
  /** When the person agreed on the H5 page, to which text (SHA-256 of it) and in which language. */
  consent_at: Millis | null;
  consent_text_hash: string | null;
  consent_lang: string | null;
  /** The personal fields were erased (ciphertexts and fingerprint set to '', original URL null). */
  erased_at: Millis | null;
  /** Blind index of the normalized mobile, for the console's exact search (migration 005). */
  mobile_index: string | null;
  /** The blind-index key of `fingerprint`, `short_code` and `mobile_index` (migration 009). */
  blind_key_id: Generated<string>;
}

export type DeliveryStatus = 'PENDING' | 'DELIVERED' | 'DEAD';

/** The outbox: one notification to a client, written in the transaction of the status change. */
export interface DeliveriesTable {
  /** Also the Standard Webhooks `webhook-id`, the same on every attempt. */
  id: string;
  client_id: string;
  /** Null for events that belong to no flow (`test.ping`). */
  flow_id: string | null;
  type: string;
  /** The exact JSON body sent on every attempt (no personal data). */
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Millis;
  /** A dispatcher owns the row while `claimed_until` is in the future and its `claim_id` is set. */
  claimed_until: Millis | null;
  claim_id: string | null;
  last_attempt_at: Millis | null;
  /** HTTP status of the last attempt, or null when it got no answer. */
  last_status: number | null;
  last_error: string | null;
  created_at: Millis;
  delivered_at: Millis | null;
}

export interface DeliveryAttemptsTable {
  id: string;
  delivery_id: string;
  attempt: number;
  at: Millis;
  http_status: number | null;
  error: string | null;
  /** Null when no request was made (the endpoint was gone before the attempt). */
  latency_ms: number | null;
}

export type OperatorRole = 'admin' | 'viewer';

export interface OperatorsTable {
  id: string;
  username: string;
  role: OperatorRole;
  /** `scrypt$N$r$p$salt$hash` (base64url parts). */
  password_hash: string;
  /** 1 until the operator sets their own password (after create or reset). */
  must_change_password: number;
  disabled_at: Millis | null;
  last_login_at: Millis | null;
  created_at: Millis;
}

export interface ConsoleSessionsTable {
  /** SHA-256 of the session cookie's value. */
  id: string;
  operator_id: string;
  csrf_token: string;
  created_at: Millis;
  expires_at: Millis;
}

/** Hourly counters; see store/stats.ts for the keys. */
export interface StatsHourlyTable {
  hour: Millis;
  /** '' for counters that belong to no client (upstream calls). */
  client_id: string;
  key: string;
  n: number;
}

export type KeyPurpose = 'encryption' | 'blind_index';

/** One key the stored data depends on, by its check value (see migration 003). */
export interface KeyChecksTable {
  purpose: KeyPurpose;
  key_id: string;
  check_value: string;
  created_at: Millis;
  retired_at: Millis | null;
}

export type IdempotencyStatus = 'RUNNING' | 'DONE';

/** One `Idempotency-Key` of one client: the request it was first used with and, once done, the answer. */
export interface IdempotencyKeysTable {
  client_id: string;
  key: string;
  request_hash: string;
  status: IdempotencyStatus;
  response_status: number | null;
  /** What rebuilds the answer (ids only, no links), see `IdempotencyCodec`. */
  response_body: string | null;
  /** Whom the answer concerns, so an erasure request deletes the key (migration 010). */
  person_id: string | null;
  created_at: Millis;
  expires_at: Millis;
}

export type AuditActorKind = 'client' | 'operator' | 'cli' | 'system';

/** Append-only access and change trail; never holds a clear personal value. */
export interface AuditEventsTable {
  seq: number;
  at: Millis;
  actor_kind: AuditActorKind;
  /** Client id, operator username, the OS user of a CLI run, or the job's name. */
  actor: string;
  action: string;
  client_id: string | null;
  flow_id: string | null;
  person_id: string | null;
  /** Another object acted on: a token id, client name, key id, operator username. */
  target: string | null;
  reason: string | null;
  request_id: string | null;
  /** JSON object of counts and flags; no personal data. */
  detail: string | null;
  /** The encryption key id the MAC key is derived from. */
  key_id: string;
  mac: string;
}

/** The single row (id 1) holding the chain's newest and oldest-kept positions. */
export interface AuditChainTable {
  id: number;
  last_seq: number;
  last_digest: string;
  base_seq: number;
  base_digest: string;
  key_id: string;
  mac: string;
}

export interface LifecycleStateTable {
  name: string;
  value: string;
  updated_at: Millis;
}

export interface Database {
  clients: ClientsTable;
  tokens: TokensTable;
  persons: PersonsTable;
  flows: FlowsTable;
  deliveries: DeliveriesTable;
  key_checks: KeyChecksTable;
  idempotency_keys: IdempotencyKeysTable;
  audit_events: AuditEventsTable;
  audit_chain: AuditChainTable;
  lifecycle_state: LifecycleStateTable;
  delivery_attempts: DeliveryAttemptsTable;
  operators: OperatorsTable;
  console_sessions: ConsoleSessionsTable;
  stats_hourly: StatsHourlyTable;
}

export type ClientRow = Selectable<ClientsTable>;
export type TokenRow = Selectable<TokensTable>;
export type PersonRow = Selectable<PersonsTable>;
export type FlowRow = Selectable<FlowsTable>;
export type DeliveryRow = Selectable<DeliveriesTable>;
export type DeliveryAttemptRow = Selectable<DeliveryAttemptsTable>;
export type OperatorRow = Selectable<OperatorsTable>;
export type ConsoleSessionRow = Selectable<ConsoleSessionsTable>;
export type KeyCheckRow = Selectable<KeyChecksTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
export type AuditChainRow = Selectable<AuditChainTable>;
export type NewFlow = Insertable<FlowsTable>;
export type FlowUpdate = Updateable<FlowsTable>;
export type { Generated };
