import { AppError } from '../errors.js';
import type {
  CallbackCheck,
  FaceProvider,
  ProviderFlowResult,
  ProviderReachability,
  RawCallback,
  StartFaceInput,
  StartFaceResult,
} from './provider.js';

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitOptions {
  /** Consecutive failures (unreachable or timed out) that open the circuit. */
  failureThreshold: number;
  /** How long it stays open before one probe call is let through. */
  openMs: number;
  now: () => number;
  onStateChange?: (state: CircuitState) => void;
}

/**
 * Stops calling a provider that keeps failing. After `failureThreshold` consecutive failures
 * (unreachable, 5xx, timeout) calls are answered at once with 503 "circuit open" without reaching
 * upstream, for `openMs`; then exactly one call probes it (half-open): success closes the circuit,
 * failure opens it again. A business refusal (e.g. a parameter error) is an answer, so it counts
 * as success. Nothing is retried here: a face start is billed, and a refused call never started.
 * The state is per process. Callbacks are verified locally and pass through untouched.
 */
export class CircuitBreakerProvider implements FaceProvider {
  private state: CircuitState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;

  constructor(
    private readonly inner: FaceProvider,
    private readonly opts: CircuitOptions,
  ) {}

  get name() {
    return this.inner.name;
  }

  startFace(input: StartFaceInput): Promise<StartFaceResult> {
    return this.guard(() => this.inner.startFace(input));
  }

  queryFlow(providerFlowId: string): Promise<ProviderFlowResult> {
    return this.guard(() => this.inner.queryFlow(providerFlowId));
  }

  /** Checked locally, no upstream call: never refused by the circuit. */
  /** What the last real call found; calls the open circuit refused never reached e签宝. */
  lastSeen(): ProviderReachability | null {
    return this.inner.lastSeen();
  }

  verifyCallback(callback: RawCallback, now: number): CallbackCheck | null {
    return this.inner.verifyCallback(callback, now);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  get current(): CircuitState {
    return this.state;
  }

  private async guard<T>(call: () => Promise<T>): Promise<T> {
    const probe = this.admit();
    try {
      const result = await call();
      this.succeeded();
      return result;
    } catch (err) {
      if (isOutage(err)) this.failed();
      else this.succeeded();
      throw err;
    } finally {
      if (probe) this.probing = false;
    }
  }

  /** Lets the call through (true when it is the half-open probe) or throws "circuit open". */
  private admit(): boolean {
    if (this.state === 'closed') return false;
    const openFor = this.openedAt + this.opts.openMs - this.opts.now();
    if (this.state === 'open' && openFor <= 0) this.set('half-open');
    if (this.state === 'half-open' && !this.probing) {
      this.probing = true;
      return true;
    }
    throw new AppError('upstream_unavailable', {
      userMessage: '认证服务暂不可用（熔断保护中），请稍后重试',
      detail: 'circuit open: e签宝 failed repeatedly, not called',
      retryAfter: Math.max(1, Math.ceil(openFor / 1000)),
    });
  }

  private succeeded(): void {
    this.failures = 0;
    if (this.state !== 'closed') this.set('closed');
  }

  private failed(): void {
    this.failures++;
    if (this.state === 'half-open' || this.failures >= this.opts.failureThreshold) {
      this.openedAt = this.opts.now();
      this.set('open');
    }
  }

  private set(state: CircuitState): void {
    if (state === this.state) return;
    this.state = state;
    this.opts.onStateChange?.(state);
  }
}

function isOutage(err: unknown): boolean {
  return err instanceof AppError && (err.kind === 'upstream_unavailable' || err.kind === 'upstream_timeout');
}
