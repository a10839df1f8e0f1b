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

export interface FaceProvider {
  readonly name: 'sandbox' | 'esign';
  /** Starts one (billed) face flow. Throws `AppError` with an upstream_* kind on failure. */
  startFace(input: StartFaceInput): Promise<StartFaceResult>;
  /** Asks the provider where a flow stands (for reconciliation). */
  queryFlow(providerFlowId: string): Promise<ProviderFlowResult>;
  close(): Promise<void>;
}
