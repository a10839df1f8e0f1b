import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');
export const LOG_DIR = path.join(ARTIFACTS, 'logs');
/** Every secret and personal value the suite uses, so the final log scan knows what to look for. */
export const SECRETS_FILE = path.join(ARTIFACTS, 'secrets.txt');

export function recordSecret(value: string): void {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.appendFileSync(SECRETS_FILE, `${value}\n`);
}

export function tempDir(prefix: string): string {
  fs.mkdirSync(path.join(ARTIFACTS, 'tmp'), { recursive: true });
  return fs.mkdtempSync(path.join(ARTIFACTS, 'tmp', `${prefix}-`));
}
