import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './gateway.js';
import { LOG_DIR, ROOT, tempDir } from './paths.js';

export interface GatewayProcess {
  url: string;
  port: number;
  proc: ChildProcess;
  /** Plain (non-JSON) stderr lines, e.g. the bootstrap banner. */
  banner: string[];
  /** Plain (non-JSON) stdout lines: the log stream should have none. */
  stdoutPlain: string[];
  /** JSON log lines on stdout so far (also written to the suite's log dir). */
  logLines: string[];
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Sends a signal and resolves with the exit code (null when killed by the signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

let seq = 0;

/**
 * Runs the built gateway (`bin/etc-esign serve`) as its own process, as production would. JSON log
 * lines (stdout, and any on stderr once it exits) go to the suite's log dir, so the log scan covers
 * them; resolves once it listens, and kills it if it exits or takes 20 s before that.
 *
 * `env` overrides the defaults below; a variable set to `undefined` is left unset (e.g.
 * `PUBLIC_BASE_URL`, to get the default `http://localhost:PORT`).
 */
export async function spawnGateway(
  env: Record<string, string | undefined>,
  opts: { port?: number } = {},
): Promise<GatewayProcess> {
  const port = opts.port ?? (await freePort());
  const logFile = path.join(LOG_DIR, `proc-${process.pid}-${++seq}.ndjson`);
  const merged: Record<string, string | undefined> = {
    PATH: process.env.PATH ?? '',
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    DATA_DIR: tempDir('proc'),
    LOG_LEVEL: 'info',
    ...env,
  };
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin/etc-esign'), 'serve'], {
    cwd: ROOT,
    env: Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const banner: string[] = [];
  const stdoutPlain: string[] = [];
  const logLines: string[] = [];
  let stderr = '';
  let stderrSeen = 0;
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    const end = stderr.lastIndexOf('\n');
    if (end < stderrSeen) return;
    for (const line of stderr.slice(stderrSeen, end).split('\n'))
      if (!line.startsWith('{')) banner.push(line);
    stderrSeen = end + 1;
  });
  proc.once('close', () => {
    const lines = stderr.split('\n').filter((l) => l.startsWith('{'));
    if (lines.length > 0) fs.appendFileSync(logFile, `${lines.join('\n')}\n`);
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let timer: NodeJS.Timeout | undefined;
  const listening = new Promise<void>((resolve, reject) => {
    let buf = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('{')) {
          logLines.push(line);
          fs.appendFileSync(logFile, `${line}\n`);
          if (line.includes('"etc-esign listening"')) resolve();
        } else stdoutPlain.push(line);
        nl = buf.indexOf('\n');
      }
    });
    exited.then((code) =>
      reject(new Error(`gateway exited with ${code} before listening: ${stderr.slice(0, 2000)}`)),
    );
    timer = setTimeout(() => reject(new Error('gateway did not listen within 20 s')), 20_000);
  });
  try {
    await listening;
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    proc,
    banner,
    stdoutPlain,
    logLines,
    stderr: () => stderr,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}
