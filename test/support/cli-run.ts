import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LOG_DIR, ROOT } from './paths.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

let seq = 0;

/**
 * Runs `node bin/etc-esign ...args` to completion with only the given environment (plus PATH),
 * with `input` on stdin when given.
 * JSON log lines go to the suite's log dir for the log scan: those on stderr, where commands log,
 * and for `serve`, which logs to stdout, those on stdout. Other commands' stdout (`client create`
 * and `token create` print a secret once, by design) is returned and never written to disk.
 */
export function runCli(args: string[], env: Record<string, string>, input?: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [path.join(ROOT, 'bin/etc-esign'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    proc.stdin.end(input ?? '');
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    proc.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`etc-esign ${args.join(' ')} did not finish in 20 s`));
    }, 20_000);
    proc.once('error', reject);
    proc.once('close', (code) => {
      clearTimeout(timer);
      const logs = [...(args[0] === 'serve' ? stdout.split('\n') : []), ...stderr.split('\n')].filter((l) =>
        l.startsWith('{'),
      );
      if (logs.length > 0) {
        fs.appendFileSync(
          path.join(LOG_DIR, `cli-run-${process.pid}-${++seq}.ndjson`),
          `${logs.join('\n')}\n`,
        );
      }
      resolve({ code, stdout, stderr });
    });
  });
}
