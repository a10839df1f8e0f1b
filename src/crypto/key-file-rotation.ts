import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KEY_FILE_NAME } from './keys.js';

interface KeyFile {
  activeKeyId: string;
  encryptionKeys: Record<string, string>;
  blindIndexKey: string;
}

export const newKeyMaterial = (): string => randomBytes(32).toString('base64');

/** `k<n+1>` after the highest `k<n>` among ids ever used (retired ids are never given out again). */
export function nextKeyId(used: string[]): string {
  const max = Math.max(0, ...used.map((id) => /^k(\d+)$/.exec(id)?.[1]).map((n) => (n ? Number(n) : 0)));
  return `k${max + 1}`;
}

function rewrite(dataDir: string, change: (f: KeyFile) => void): void {
  const file = path.join(dataDir, KEY_FILE_NAME);
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as KeyFile;
  change(parsed);
  // Write beside and rename: a reader never sees half a file, a crash leaves the old one.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(parsed, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Adds a fresh key under `id` to `DATA_DIR/keys.json` and makes it the file's active key. */
export function addKeyToFile(dataDir: string, id: string): void {
  rewrite(dataDir, (f) => {
    if (f.encryptionKeys[id]) throw new Error(`${KEY_FILE_NAME} already has a key "${id}"`);
    f.encryptionKeys[id] = newKeyMaterial();
    f.activeKeyId = id;
  });
}

export function removeKeyFromFile(dataDir: string, id: string): void {
  rewrite(dataDir, (f) => {
    if (f.activeKeyId === id) throw new Error(`"${id}" is the key file's active key`);
    delete f.encryptionKeys[id];
  });
}
