import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_BLIND_KEY_ID, KEY_FILE_NAME, type KeyFile } from './keys.js';

export const newKeyMaterial = (): string => randomBytes(32).toString('base64');

/**
 * `<prefix><n+1>` after the highest `<prefix><n>` among ids ever used (retired ids are never given
 * out again): `k` for encryption keys, `b` for blind-index keys.
 */
export function nextKeyId(used: string[], prefix = 'k'): string {
  const pattern = new RegExp(`^${prefix}(\\d+)$`);
  const max = Math.max(0, ...used.map((id) => pattern.exec(id)?.[1]).map((n) => (n ? Number(n) : 0)));
  return `${prefix}${max + 1}`;
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

/** The blind-index keys of a file of either shape, as `blindIndexKeys`. */
function blindKeys(f: KeyFile): Record<string, string> {
  if (f.blindIndexKey !== undefined) {
    f.blindIndexKeys = { [DEFAULT_BLIND_KEY_ID]: f.blindIndexKey };
    f.activeBlindIndexKeyId = DEFAULT_BLIND_KEY_ID;
    delete f.blindIndexKey;
  }
  f.blindIndexKeys ??= {};
  return f.blindIndexKeys;
}

/** Adds a fresh blind-index key under `id` and makes it the file's active one (a file of the older shape is converted). */
export function addBlindKeyToFile(dataDir: string, id: string): void {
  rewrite(dataDir, (f) => {
    const keys = blindKeys(f);
    if (keys[id]) throw new Error(`${KEY_FILE_NAME} already has a blind-index key "${id}"`);
    keys[id] = newKeyMaterial();
    f.activeBlindIndexKeyId = id;
  });
}

export function removeBlindKeyFromFile(dataDir: string, id: string): void {
  rewrite(dataDir, (f) => {
    const keys = blindKeys(f);
    if (f.activeBlindIndexKeyId === id) throw new Error(`"${id}" is the key file's active blind-index key`);
    delete keys[id];
  });
}
