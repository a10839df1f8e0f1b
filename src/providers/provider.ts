/**
 * The face-authentication provider seam. `sandbox` runs everything locally; `esign` talks to
 * e签宝. Services only ever see this interface.
 */

/** Document type of the person's ID, derived from the ID number's address code. */
export type IdKind = 'CN' | 'HK' | 'MO' | 'TW';

export interface ProviderPerson {
  /** Our stable, non-personal key for the person (used as e签宝 `thirdPartyUserId`). */
  personKey: string;
  name: string;
  idNumber: string;
  mobile: string;
  idKind: IdKind;
  /** The provider account already known for this person, if any. */
  accountId: string | null;
}

export interface StartFaceInput {
  /** Our flow id; e签宝 echoes it back as `contextId`. */
  flowId: string;
  person: ProviderPerson;
  /** Where the provider posts results (our callback route). */
  notifyUrl: string;
  /** Where the person's browser goes after the face page (a result page of ours). */
  callbackUrl: string;
}

export type StartFaceResult =
  | {
      kind: 'started';
      providerFlowId: string;
      originalUrl: string;
      expireAt: Date;
      /** The provider account the flow is bound to, if it created or found one. */
      accountId: string | null;
    }
  | { kind: 'already-verified'; accountId: string };

export type ProviderFlowStatus = 'PENDING' | 'OPENED' | 'SUCCESS' | 'FAILED';

export interface ProviderFlowResult {
  status: ProviderFlowStatus;
  accountId: string | null;
  failReason: string | null;
}

/** A result notification as it reached our callback route, before anything is trusted. */
export interface RawCallback {
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
  /** The query parameters of our own notify URL (part of e签宝's signature). */
  query: Record<string, string>;
}

export type CallbackCheck =
  /** Not from the provider (signature, app id, timestamp…): nothing may change. */
  | { kind: 'rejected'; reason: string }
  /** Authentic, but not a face result (another action). */
  | { kind: 'ignored'; action: string }
  | {
      kind: 'result';
      providerFlowId: string;
      /** Our flow id as echoed back by the provider, when it sends one. */
      contextId: string | null;
      success: boolean;
      accountId: string | null;
    };

/** Whether the provider answered the last real call (no call is ever made just to find out). */
export interface ProviderReachability {
  reachable: boolean;
  /** Epoch ms of that call. */
  at: number;
}

export interface FaceProvider {
  readonly name: 'sandbox' | 'esign';
  /** The outcome of the last call to a remote provider; null before any, or for a local one. */
  lastSeen(): ProviderReachability | null;
  /** Starts one (billed) face flow. Throws `AppError` with an upstream_* kind on failure. */
  startFace(input: StartFaceInput): Promise<StartFaceResult>;
  /** Asks the provider where a flow stands (for reconciliation). */
  queryFlow(providerFlowId: string): Promise<ProviderFlowResult>;
  /** Checks a pushed result on its raw bytes; null when this provider pushes no results. */
  verifyCallback(callback: RawCallback, now: number): CallbackCheck | null;
  close(): Promise<void>;
}

/**
 * What only the sandbox can do: finish a flow by hand. The runtime hands it to services when the
 * sandbox is the provider, so nothing needs to ask which provider is running.
 */
export interface SandboxControl {
  /** The stable account id the sandbox gives a person on success. */
  accountIdFor(personKey: string): string;
}
