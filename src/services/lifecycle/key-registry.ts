/**
 * Which encryption key ids exist beyond this process's key ring: the one all processes encrypt new
 * values with, and the retired ones. Kept apart so it can move onto the key check values of
 * migration 003 (`key_checks.retired_at`) without touching rotation itself.
 */
import type { Executor } from '../../store/db.js';
import * as lifecycleStore from '../../store/lifecycle-store.js';

const ACTIVE = 'keys.active';
const RETIRED = 'keys.retired.';

/** Undefined until the first rotation: every process then encrypts with the first key of its ring. */
export function getActiveKeyId(ex: Executor): Promise<string | undefined> {
  return lifecycleStore.getState(ex, ACTIVE);
}

export function setActiveKeyId(ex: Executor, id: string, now: number): Promise<void> {
  return lifecycleStore.setState(ex, ACTIVE, id, now);
}

export async function retiredKeyIds(ex: Executor): Promise<string[]> {
  return (await lifecycleStore.listStates(ex, RETIRED)).map((s) => s.name.slice(RETIRED.length));
}

export function markRetired(ex: Executor, id: string, now: number): Promise<void> {
  return lifecycleStore.setState(ex, `${RETIRED}${id}`, String(now), now);
}
