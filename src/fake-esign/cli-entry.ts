/**
 * `etc-esign fake-esign --port N`: runs the fake e签宝 for local development and scripted demos,
 * printing only its base URL so a script can capture it.
 */
import type { Logger } from 'pino';
import { type FakeEsign, startFakeEsign } from './server.js';

export interface FakeEsignCommandOptions {
  port: number;
  appId: string;
  appSecret: string;
  latencyMs?: number;
  host?: string;
  /** Gets one info line per call the fake receives. */
  logger?: Logger;
}

export async function runFakeEsignCommand(
  opts: FakeEsignCommandOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<FakeEsign> {
  const fake = await startFakeEsign({
    port: opts.port,
    appId: opts.appId,
    appSecret: opts.appSecret,
    latencyMs: opts.latencyMs ?? 0,
    host: opts.host ?? '127.0.0.1',
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  out.write(`${fake.baseUrl}\n`);
  const stop = () => {
    void fake.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return fake;
}

export interface FakeCompleteResult {
  flowId: string;
  status: string;
  /** HTTP status of the gateway's answer to the signed callback; null when none was sent. */
  callbackStatus: number | null;
}

/**
 * `etc-esign fake-esign complete <providerFlowId> [--fail reason] --fake-url URL`: asks a running
 * fake to finish a flow as the person would on its face page, which sends the signed callback.
 */
export async function completeFakeFlow(
  fakeUrl: string,
  providerFlowId: string,
  opts: { failReason?: string } = {},
): Promise<FakeCompleteResult> {
  const res = await fetch(
    `${fakeUrl.replace(/\/+$/, '')}/fake/flows/${encodeURIComponent(providerFlowId)}/complete`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        opts.failReason === undefined ? { success: true } : { success: false, failReason: opts.failReason },
      ),
      signal: AbortSignal.timeout(15_000),
    },
  );
  const answer = (await res.json()) as { code: number; message: string; data: FakeCompleteResult | null };
  if (answer.code !== 0 || !answer.data) {
    throw new Error(`fake e签宝 refused: ${answer.message} (code ${answer.code})`);
  }
  return answer.data;
}
