import { FACE, type TestGateway } from './gateway.js';
import { person } from './people.js';

export interface LoadSample {
  /** When the request was sent and how long its answer took, in ms (performance.now() clock). */
  sentAt: number;
  ms: number;
  /** HTTP status, or 0 when no answer came (connection error, client-side timeout). */
  status: number;
  responseCode: string | null;
  flowId: string | null;
}

export interface Load {
  samples: LoadSample[];
  /** Stops sending and resolves once every request in flight has its answer. */
  stop(): Promise<LoadSample[]>;
}

/**
 * Steady face-start traffic: `concurrency` loops, each sending one new person after another, so
 * every 200 is a new flow the gateway acknowledged. Bounded by the caller's `stop`; each request
 * gives up after `clientTimeoutMs` so a hanging gateway shows as status 0, not as a stuck test.
 */
export function startFaceLoad(
  gw: Pick<TestGateway, 'url' | 'token'>,
  opts: { concurrency: number; seedBase: number; clientTimeoutMs?: number; pauseMs?: number },
): Load {
  const samples: LoadSample[] = [];
  let stopped = false;
  let next = 0;
  const worker = async () => {
    while (!stopped) {
      const p = person(opts.seedBase + next++);
      const sentAt = performance.now();
      const sample: LoadSample = { sentAt, ms: 0, status: 0, responseCode: null, flowId: null };
      try {
        const res = await fetch(gw.url + FACE, {
          method: 'POST',
          headers: { 'etc-token': gw.token, 'etc-sys-id': 'E02', 'content-type': 'application/json' },
          body: JSON.stringify(p),
          signal: AbortSignal.timeout(opts.clientTimeoutMs ?? 20_000),
        });
        const body = (await res.json()) as { responseCode: string; data: { flowId?: string } | null };
        sample.status = res.status;
        sample.responseCode = body.responseCode;
        sample.flowId = body.data?.flowId ?? null;
      } catch {
        // No answer: recorded as status 0.
      }
      sample.ms = performance.now() - sentAt;
      samples.push(sample);
      if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
    }
  };
  const workers = Array.from({ length: opts.concurrency }, worker);
  return {
    samples,
    async stop() {
      stopped = true;
      await Promise.all(workers);
      return samples;
    },
  };
}

/** Counts of each HTTP status among the samples, e.g. `{ 200: 120, 503: 40 }`. */
export function statusCounts(samples: LoadSample[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const s of samples) counts[s.status] = (counts[s.status] ?? 0) + 1;
  return counts;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 100 ms until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await sleep(100);
  }
  return check();
}
