/**
 * Which key ids exist beyond this process's key ring, per kind (encryption, blind index): the one
 * all processes use for new values (ours, in `lifecycle_state`), and the known and retired ones
 * (the key check values of migration 003, which also make a process lacking a needed key refuse
 * to start).
 */
import { keyCheckValue } from '../../crypto/keys.js';
import type { Executor } from '../../store/db.js';
import * as keyCheckStore from '../../store/key-check-store.js';
import * as lifecycleStore from '../../store/lifecycle-store.js';
import type { KeyPurpose } from '../../store/schema.js';

const ACTIVE: Record<KeyPurpose, string> = { encryption: 'keys.active', blind_index: 'keys.blind.active' };

/** Undefined until the first rotation: every process then uses the first key of its ring. */
export function getActiveKeyId(
  ex: Executor,
  purpose: KeyPurpose = 'encryption',
): Promise<string | undefined> {
  return lifecycleStore.getState(ex, ACTIVE[purpose]);
}

export function setActiveKeyId(
  ex: Executor,
  id: string,
  now: number,
  purpose: KeyPurpose = 'encryption',
): Promise<void> {
  return lifecycleStore.setState(ex, ACTIVE[purpose], id, now);
}

/** Every key id of this kind the data was ever written with (never given out again). */
export async function knownKeyIds(ex: Executor, purpose: KeyPurpose = 'encryption'): Promise<string[]> {
  return (await keyCheckStore.listKeyChecks(ex)).filter((k) => k.purpose === purpose).map((k) => k.key_id);
}

export async function retiredKeyIds(ex: Executor, purpose: KeyPurpose = 'encryption'): Promise<string[]> {
  return (await keyCheckStore.listKeyChecks(ex))
    .filter((k) => k.purpose === purpose && k.retired_at !== null)
    .map((k) => k.key_id);
}

/** Records a new key's check value, so that from now on a process without it refuses to start. */
export function recordNewKey(
  ex: Executor,
  id: string,
  key: Buffer,
  now: number,
  purpose: KeyPurpose = 'encryption',
): Promise<void> {
  return keyCheckStore.addKeyCheck(ex, {
    purpose,
    key_id: id,
    check_value: keyCheckValue(key),
    created_at: now,
  });
}

export function markRetired(
  ex: Executor,
  id: string,
  now: number,
  purpose: KeyPurpose = 'encryption',
): Promise<void> {
  return keyCheckStore.retireKeyCheck(ex, purpose, id, now);
}
