import * as flowStore from '../../store/flow-store.js';
import type { ServiceDeps } from '../deps.js';
import { sealShortCode } from './links.js';

type Deps = Pick<ServiceDeps, 'store' | 'cipher'>;

/** Rows per batch of the upgrades below. */
const BATCH = 500;

/**
 * Flows written by older versions brought up to what the current code expects, run at start once
 * the keys are checked: links sealed (migration 003) and mobile numbers indexed for the console's
 * search (migration 005). Each finds no rows once done, so a start after that costs two reads.
 */
export async function upgradeLegacyFlows(deps: Deps): Promise<{ sealed: number; mobilesIndexed: number }> {
  return { sealed: await sealLegacyFlows(deps), mobilesIndexed: await indexLegacyMobiles(deps) };
}

async function sealLegacyFlows(deps: Deps): Promise<number> {
  let sealed = 0;
  for (;;) {
    const batch = await flowStore.findUnsealedFlows(deps.store.db, BATCH);
    for (const row of batch) {
      await flowStore.sealFlow(deps.store.db, row.id, {
        // Under the key of the row's other digests, so that the row stays on one key.
        ...sealShortCode(deps.cipher, row.short_code, row.blind_key_id),
        original_url: row.original_url === null ? null : deps.cipher.encrypt(row.original_url),
      });
    }
    sealed += batch.length;
    if (batch.length < BATCH) return sealed;
  }
}

async function indexLegacyMobiles(deps: Deps): Promise<number> {
  let indexed = 0;
  for (;;) {
    const batch = await flowStore.findFlowsWithoutMobileIndex(deps.store.db, BATCH);
    for (const row of batch) {
      const mobile = deps.cipher.decrypt(row.mobile_enc);
      await flowStore.setMobileIndex(
        deps.store.db,
        row.id,
        deps.cipher.blindIndex('mobile', mobile, row.blind_key_id),
      );
    }
    indexed += batch.length;
    if (batch.length < BATCH) return indexed;
  }
}
