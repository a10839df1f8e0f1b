import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './gateway.js';
import { LOG_DIR, ROOT, tempDir } from './paths.js';

export interface GatewayProcess {
  url: string;
  port: number;
  proc: ChildProcess;
  /** Plain (non-JSON) stdout lines, e.g. the bootstrap banner. */
  banner: string[];
  /** Sends a signal and resolves with the exit code (null when killed by the signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

let seq = 0;

/**
 * Runs the built gateway (`bin/etc-esign serve`) as its own process, as production would. JSON log
 * lines go to the suite's log dir (so the log scan covers them); resolves once it listens.
 */
export async function spawnGateway(
  env: Record<string, string>,
  opts: { port?: number } = {},
): Promise<GatewayProcess> {
  const port = opts.port ?? (await freePort());
  const logFile = path.join(LOG_DIR, `proc-${process.pid}-${++seq}.ndjson`);
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin/etc-esign'), 'serve'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      DATA_DIR: tempDir('proc'),
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const banner: string[] = [];
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const listening = new Promise<void>((resolve, reject) => {
    let buf = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('{')) {
          fs.appendFileSync(logFile, `${line}\n`);
          if (line.includes('"etc-esign listening"')) resolve();
        } else banner.push(line);
        nl = buf.indexOf('\n');
      }
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    exited.then((code) =>
      reject(new Error(`gateway exited with ${code} before listening: ${stderr.slice(0, 2000)}`)),
    );
  });
  await listening;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    proc,
    banner,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}
