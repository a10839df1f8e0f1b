import type { Config } from '../config.js';
import {
  createKeyFile,
  DEFAULT_BLIND_KEY_ID,
  KeyError,
  type KeyRing,
  keyCheckValue,
  keyFilePath,
  keyName,
  readKeyRing,
} from '../crypto/keys.js';
import { PiiCipher } from '../crypto/pii.js';
import type { Store } from '../store/db.js';
import * as keyCheckStore from '../store/key-check-store.js';
import type { KeyPurpose } from '../store/schema.js';

/** The blind-index key given bare (no id of its own); its check row uses this id. */
export const BLIND_INDEX_KEY_ID = DEFAULT_BLIND_KEY_ID;

interface Wanted {
  purpose: KeyPurpose;
  key_id: string;
  check_value: string;
}

/**
 * The keys this process may run with, checked against the database before anything is read or
 * written with them. A key file is made only for an empty SQLite database: with PostgreSQL every
 * process must be given the same keys, and a database holding encrypted rows needs the keys it
 * was written with. Throws `KeyError` (exit 2) naming the key and what to do.
 */
export async function openKeyRing(
  config: Pick<Config, 'keys' | 'dataDir' | 'database'>,
  store: Store,
  now: number,
): Promise<KeyRing> {
  let ring = readKeyRing(config);
  if (!ring) {
    if (config.database.kind === 'postgres') {
      throw new KeyError(
        'ENCRYPTION_KEYS and BLIND_INDEX_KEY are required with PostgreSQL (every process must use the same keys, so none are made here): generate each with `openssl rand -base64 32` once and give them to every process',
      );
    }
    if (await keyCheckStore.holdsKeyedData(store.db)) {
      throw new KeyError(
        `${keyFilePath(config.dataDir)} is missing but the database holds data encrypted with it: restore the key file from your backup (new keys would leave that data unreadable)`,
      );
    }
    ring = createKeyFile(config.dataDir);
  }
  await checkKeys(store, ring, now);
  return ring;
}

async function checkKeys(store: Store, ring: KeyRing, now: number): Promise<void> {
  const wanted: Wanted[] = [
    ...ring.encryption.map((k) => ({
      purpose: 'encryption' as const,
      key_id: k.id,
      check_value: keyCheckValue(k.key),
    })),
    ...ring.blindIndex.map((k) => ({
      purpose: 'blind_index' as const,
      key_id: k.id,
      check_value: keyCheckValue(k.key),
    })),
  ];
  const recorded = await keyCheckStore.listKeyChecks(store.db);
  compare(recorded, wanted);
  if (recorded.length === 0) await sampleDecrypts(store, ring);
  if (wanted.every((w) => recorded.some((r) => same(r, w)))) return;
  // Recorded in one transaction and compared again inside it: a process starting at the same
  // time with other keys either sees ours or fails and leaves none of its own behind.
  await store.db.transaction().execute(async (trx) => {
    for (const w of wanted) await keyCheckStore.addKeyCheck(trx, { ...w, created_at: now });
    compare(await keyCheckStore.listKeyChecks(trx), wanted);
  });
}

const same = (a: Wanted, b: Wanted) => a.purpose === b.purpose && a.key_id === b.key_id;

function compare(recorded: (Wanted & { retired_at: number | null })[], wanted: Wanted[]): void {
  for (const w of wanted) {
    const r = recorded.find((row) => same(row, w));
    if (r && r.check_value !== w.check_value) {
      throw new KeyError(
        w.purpose === 'encryption'
          ? `encryption key "${w.key_id}" does not match the key "${w.key_id}" this database was written with: give this process the original key (ENCRYPTION_KEYS or keys.json); a different key would fork the data`
          : `${keyName('blind-index', w.key_id)} (BLIND_INDEX_KEY or ${w.key_id === BLIND_INDEX_KEY_ID ? 'blindIndexKey' : 'blindIndexKeys'} in keys.json) does not match the one this database was written with: give this process the original key; a different one would duplicate every person`,
      );
    }
  }
  for (const r of recorded) {
    if (r.retired_at !== null || wanted.some((w) => same(w, r))) continue;
    throw new KeyError(
      r.purpose === 'encryption'
        ? `encryption key "${r.key_id}" is missing: the database holds data encrypted with it; add it to ENCRYPTION_KEYS (or keys.json) again`
        : `${keyName('blind-index', r.key_id)} is missing: the database holds indexes made with it; add it to BLIND_INDEX_KEY (or keys.json) again`,
    );
  }
}

/**
 * A database from before key check values (or one whose checks were lost) is checked the slow
 * way once: the first stored personal value must decrypt.
 */
async function sampleDecrypts(store: Store, ring: KeyRing): Promise<void> {
  const sample = await keyCheckStore.sampleEncryptedValue(store.db);
  if (sample === null) return;
  try {
    new PiiCipher(ring).decrypt(sample);
  } catch {
    throw new KeyError(
      'the encryption keys do not decrypt the data already in this database: give this process the keys it was written with (ENCRYPTION_KEYS or keys.json)',
    );
  }
}
