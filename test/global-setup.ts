import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ARTIFACTS, LOG_DIR, ROOT, SECRETS_FILE } from './support/paths.js';

/**
 * Builds `dist/` once (CLI and multi-process tests run the real binary), starts every run with
 * empty artifacts, and after the last test scans every log line the suite produced for any token
 * or personal value the tests used.
 */
export default function setup() {
  fs.rmSync(LOG_DIR, { recursive: true, force: true });
  fs.rmSync(SECRETS_FILE, { force: true });
  fs.rmSync(path.join(ARTIFACTS, 'tmp'), { recursive: true, force: true });
  fs.mkdirSync(LOG_DIR, { recursive: true });
  execFileSync(
    process.execPath,
    [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
  return teardown;
}

function teardown() {
  const secrets = fs.existsSync(SECRETS_FILE)
    ? [
        ...new Set(
          fs
            .readFileSync(SECRETS_FILE, 'utf8')
            .split('\n')
            .filter((s) => s.length >= 2),
        ),
      ]
    : [];
  const files = fs.readdirSync(LOG_DIR).filter((f) => f.endsWith('.ndjson'));
  let lines = 0;
  const leaks: string[] = [];
  for (const file of files) {
    for (const line of fs.readFileSync(path.join(LOG_DIR, file), 'utf8').split('\n')) {
      if (!line) continue;
      lines++;
      const hit = secrets.find((s) => line.includes(s));
      if (hit) leaks.push(`${file}: a log line holds a secret or personal value of length ${hit.length}`);
    }
  }
  process.stderr.write(
    `log scan: ${lines} log lines in ${files.length} files checked against ${secrets.length} values\n`,
  );
  // Running only pure unit tests starts no gateway; then there is nothing to scan, which is fine.
  if (lines > 0 && secrets.length === 0) throw new Error('log scan had no recorded values to look for');
  if (leaks.length > 0) throw new Error(`personal data or tokens in logs:\n${leaks.slice(0, 20).join('\n')}`);
}
