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
  created_at: Millis;
}

export interface TokensTable {
  id: string;
  client_id: string;
  token_hash: string;
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
  short_code: string;
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
}

export interface Database {
  clients: ClientsTable;
  tokens: TokensTable;
  persons: PersonsTable;
  flows: FlowsTable;
}

export type ClientRow = Selectable<ClientsTable>;
export type TokenRow = Selectable<TokensTable>;
export type PersonRow = Selectable<PersonsTable>;
export type FlowRow = Selectable<FlowsTable>;
export type NewFlow = Insertable<FlowsTable>;
export type FlowUpdate = Updateable<FlowsTable>;
export type { Generated };
