import { createHmac } from 'node:crypto';
import { randomBase62 } from '../crypto/random.js';
import type {
  CallbackCheck,
  FaceProvider,
  ProviderFlowResult,
  SandboxControl,
  StartFaceInput,
  StartFaceResult,
} from './provider.js';

export interface SandboxOptions {
  publicBaseUrl: string;
  linkTtlMs: number;
  /** Secret for deriving stable account ids; the blind-index key serves. */
  accountKey: Buffer;
  now: () => number;
}

/**
 * The local provider: a flow is a page on this server (`/h5/sandbox/<id>`) where the person
 * completes or fails the check by hand. Results travel through the same service function as
 * e签宝 callbacks.
 */
export class SandboxProvider implements FaceProvider, SandboxControl {
  readonly name = 'sandbox' as const;

  constructor(private readonly opts: SandboxOptions) {}

  lastSeen(): null {
    return null;
  }

  async startFace(_input: StartFaceInput): Promise<StartFaceResult> {
    const providerFlowId = `sbx_${randomBase62(24)}`;
    return {
      kind: 'started',
      providerFlowId,
      originalUrl: `${this.opts.publicBaseUrl}/h5/sandbox/${providerFlowId}`,
      expireAt: new Date(this.opts.now() + this.opts.linkTtlMs),
      accountId: null,
    };
  }

  /** Sandbox results are applied the moment they happen, so there is never anything to discover. */
  async queryFlow(_providerFlowId: string): Promise<ProviderFlowResult> {
    return { status: 'PENDING', accountId: null, failReason: null };
  }

  /** Results happen on our own page; nothing is ever pushed. */
  verifyCallback(): CallbackCheck | null {
    return null;
  }

  /** A stable 32-hex account id per person, shaped like e签宝's. */
  accountIdFor(personKey: string): string {
    return createHmac('sha256', this.opts.accountKey)
      .update(`sandbox-account\u0000${personKey}`)
      .digest('hex')
      .slice(0, 32);
  }

  async close(): Promise<void> {}
}
