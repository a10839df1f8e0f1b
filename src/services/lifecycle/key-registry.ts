/**
 * Which encryption key ids exist beyond this process's key ring: the one all processes encrypt new
 * values with (ours, in `lifecycle_state`), and the known and retired ones (the key check values
 * of migration 003, which also make a process lacking a needed key refuse to start).
 */
import { keyCheckValue } from '../../crypto/keys.js';
import type { Executor } from '../../store/db.js';
import * as keyCheckStore from '../../store/key-check-store.js';
import * as lifecycleStore from '../../store/lifecycle-store.js';

const ACTIVE = 'keys.active';

/** Undefined until the first rotation: every process then encrypts with the first key of its ring. */
export function getActiveKeyId(ex: Executor): Promise<string | undefined> {
  return lifecycleStore.getState(ex, ACTIVE);
}

export function setActiveKeyId(ex: Executor, id: string, now: number): Promise<void> {
  return lifecycleStore.setState(ex, ACTIVE, id, now);
}

/** Every encryption key id the data was ever written with (never given out again). */
export async function knownKeyIds(ex: Executor): Promise<string[]> {
  return (await keyCheckStore.listKeyChecks(ex))
    .filter((k) => k.purpose === 'encryption')
    .map((k) => k.key_id);
}

export async function retiredKeyIds(ex: Executor): Promise<string[]> {
  return (await keyCheckStore.listKeyChecks(ex))
    .filter((k) => k.purpose === 'encryption' && k.retired_at !== null)
    .map((k) => k.key_id);
}

/** Records a new key's check value, so that from now on a process without it refuses to start. */
export function recordNewKey(ex: Executor, id: string, key: Buffer, now: number): Promise<void> {
  return keyCheckStore.addKeyCheck(ex, {
    purpose: 'encryption',
    key_id: id,
    check_value: keyCheckValue(key),
    created_at: now,
  });
}

export function markRetired(ex: Executor, id: string, now: number): Promise<void> {
  return keyCheckStore.retireKeyCheck(ex, 'encryption', id, now);
}
