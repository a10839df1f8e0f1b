import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';

export interface KeyRing {
  /** The first key encrypts; all of them decrypt (old keys stay for rotation). */
  encryption: { id: string; key: Buffer }[];
  /** The first key makes new blind indexes; lookups try all of them (old keys stay for rotation). */
  blindIndex: { id: string; key: Buffer }[];
}

export interface KeyFile {
  activeKeyId: string;
  encryptionKeys: Record<string, string>;
  /** A file from before blind-index rotation holds its one key here (id `default`). */
  blindIndexKey?: string;
  blindIndexKeys?: Record<string, string>;
  activeBlindIndexKeyId?: string;
}

/** The id of the blind-index key given bare (BLIND_INDEX_KEY=base64, or a key file's `blindIndexKey`). */
export const DEFAULT_BLIND_KEY_ID = 'default';

export const KEY_FILE_NAME = 'keys.json';
export const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9_-]{1,16}$/;

/**
 * A key problem the operator has to fix before the process may run (exit 2): a wrong, missing or
 * malformed key would otherwise fork the data (new rows under keys the old ones do not match).
 * The message is one line that says which key and what to do.
 */
export class KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyError';
  }
}

/**
 * Keys from the environment when given (production), else from `DATA_DIR/keys.json` when it
 * exists; null when neither (the caller decides whether a new key file may be made).
 */
export function readKeyRing(config: Pick<Config, 'keys' | 'dataDir'>): KeyRing | null {
  if (config.keys) {
    validateKeyRing(config.keys, 'ENCRYPTION_KEYS/BLIND_INDEX_KEY');
    return config.keys;
  }
  const file = keyFilePath(config.dataDir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new KeyError(
      `${file} cannot be read (${(err as NodeJS.ErrnoException).code}): check its owner and mode`,
    );
  }
  return parseKeyFile(file, text);
}

/** Makes a new `DATA_DIR/keys.json` (mode 0600) with fresh keys; if another process just did, reads theirs. */
export function createKeyFile(dataDir: string): KeyRing {
  const file = keyFilePath(dataDir);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const fresh: KeyFile = {
    activeKeyId: 'k1',
    encryptionKeys: { k1: randomBytes(KEY_BYTES).toString('base64') },
    blindIndexKey: randomBytes(KEY_BYTES).toString('base64'),
  };
  try {
    fs.writeFileSync(file, `${JSON.stringify(fresh, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return parseKeyFile(file, fs.readFileSync(file, 'utf8'));
}

export function keyFilePath(dataDir: string): string {
  return path.join(dataDir, KEY_FILE_NAME);
}

/**
 * A key's check value: an HMAC under the key of a fixed text. Equal for the same key, different
 * for any other, and it reveals nothing that helps recover the key.
 */
export function keyCheckValue(key: Buffer): string {
  return createHmac('sha256', key).update('etc-esign key check v1').digest('hex');
}

function parseKeyFile(file: string, text: string): KeyRing {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new KeyError(`${file} is not valid JSON: restore it from your backup`);
  }
  const f = parsed as Partial<KeyFile> | null;
  const blind =
    typeof f?.blindIndexKey === 'string'
      ? { [DEFAULT_BLIND_KEY_ID]: f.blindIndexKey }
      : (f?.blindIndexKeys ?? null);
  if (
    typeof f !== 'object' ||
    f === null ||
    typeof f.activeKeyId !== 'string' ||
    !isKeyMap(f.encryptionKeys) ||
    !isKeyMap(blind)
  ) {
    throw new KeyError(
      `${file} must hold activeKeyId, encryptionKeys {id: base64 key} and blindIndexKey (or blindIndexKeys {id: base64 key}): restore it from your backup`,
    );
  }
  const ring: KeyRing = {
    encryption: activeFirst(`${file}: activeKeyId`, f.encryptionKeys, f.activeKeyId),
    blindIndex: activeFirst(
      `${file}: activeBlindIndexKeyId`,
      blind,
      f.activeBlindIndexKeyId ?? Object.keys(blind)[0] ?? '',
    ),
  };
  validateKeyRing(ring, file);
  return ring;
}

/** How messages name a key; the bare blind-index key of older deployments has no id to show. */
export const keyName = (kind: 'encryption' | 'blind-index', id: string): string =>
  kind === 'blind-index' && id === DEFAULT_BLIND_KEY_ID ? 'the blind-index key' : `${kind} key "${id}"`;

const isKeyMap = (m: unknown): m is Record<string, string> =>
  typeof m === 'object' && m !== null && Object.values(m).every((v) => typeof v === 'string');

function activeFirst(field: string, keys: Record<string, string>, activeId: string) {
  const active = keys[activeId];
  if (active === undefined) throw new KeyError(`${field} ${activeId} has no key`);
  const others = Object.entries(keys).filter(([id]) => id !== activeId);
  return [[activeId, active] as const, ...others].map(([id, b64]) => ({
    id,
    key: Buffer.from(b64, 'base64'),
  }));
}

/** 32-byte encryption and blind-index keys, each kind under distinct, well-formed ids. */
export function validateKeyRing(ring: KeyRing, source: string): void {
  if (ring.encryption.length === 0) throw new KeyError(`${source}: no encryption key`);
  if (ring.blindIndex.length === 0) throw new KeyError(`${source}: no blind-index key`);
  for (const [kind, keys] of [
    ['encryption', ring.encryption],
    ['blind-index', ring.blindIndex],
  ] as const) {
    const seen = new Set<string>();
    for (const { id, key } of keys) {
      if (!KEY_ID.test(id)) throw new KeyError(`${source}: key id "${id}" must be 1–16 of A-Z a-z 0-9 _ -`);
      if (seen.has(id)) throw new KeyError(`${source}: key id "${id}" appears twice`);
      seen.add(id);
      if (key.length !== KEY_BYTES)
        throw new KeyError(
          `${source}: ${keyName(kind, id)} has ${key.length} bytes, needs ${KEY_BYTES} (base64)`,
        );
    }
  }
}
