/**
 * `etc-esign fake-esign --port N`: runs the fake e签宝 for local development and scripted demos,
 * printing only its base URL so a script can capture it.
 */
import { type FakeEsign, startFakeEsign } from './server.js';

export interface FakeEsignCommandOptions {
  port: number;
  appId: string;
  appSecret: string;
  latencyMs?: number;
  host?: string;
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
  });
  out.write(`${fake.baseUrl}\n`);
  const stop = () => {
    void fake.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return fake;
}
