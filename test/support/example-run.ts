import { spawn } from 'node:child_process';
import { ROOT } from './paths.js';

export interface ExampleRun {
  code: number | null;
  lines: string[];
  stderr: string;
}

/**
 * Runs a client example to completion. `onLine` sees each stdout line as it comes, so a test can
 * act at the right moment (finish the flow once the example waits for its notification).
 */
export function runExample(
  command: string,
  args: string[],
  env: Record<string, string>,
  onLine: (line: string) => void,
  timeoutMs = 60_000,
): Promise<ExampleRun> {
  return new Promise((resolve, reject) => {
    const proc = spawn(command, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let pending = '';
    let stderr = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        lines.push(line);
        onLine(line);
        nl = pending.indexOf('\n');
      }
    });
    proc.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${command} did not finish in ${timeoutMs} ms:\n${lines.join('\n')}\n${stderr}`));
    }, timeoutMs);
    proc.once('error', reject);
    proc.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, lines, stderr });
    });
  });
}
