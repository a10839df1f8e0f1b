import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';

export interface KeyRing {
  /** The first key encrypts; all of them decrypt (old keys stay for rotation). */
  encryption: { id: string; key: Buffer }[];
  blindIndex: Buffer;
}

interface KeyFile {
  activeKeyId: string;
  encryptionKeys: Record<string, string>;
  blindIndexKey: string;
}

export const KEY_FILE_NAME = 'keys.json';

/**
 * Keys from the environment when given (production), else from `DATA_DIR/keys.json`, created with
 * mode 0600 on first start so the embedded default needs no setup.
 */
export function loadKeyRing(config: Pick<Config, 'keys' | 'dataDir'>): KeyRing {
  if (config.keys) return config.keys;
  const file = path.join(config.dataDir, KEY_FILE_NAME);
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  if (!fs.existsSync(file)) {
    const fresh: KeyFile = {
      activeKeyId: 'k1',
      encryptionKeys: { k1: randomBytes(32).toString('base64') },
      blindIndexKey: randomBytes(32).toString('base64'),
    };
    try {
      fs.writeFileSync(file, `${JSON.stringify(fresh, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another process created it first; fall through and read theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as KeyFile;
  const active = parsed.encryptionKeys[parsed.activeKeyId];
  if (!active) throw new Error(`${file}: activeKeyId ${parsed.activeKeyId} has no key`);
  const others = Object.entries(parsed.encryptionKeys).filter(([id]) => id !== parsed.activeKeyId);
  return {
    encryption: [[parsed.activeKeyId, active] as const, ...others].map(([id, b64]) => ({
      id,
      key: Buffer.from(b64, 'base64'),
    })),
    blindIndex: Buffer.from(parsed.blindIndexKey, 'base64'),
  };
}
