import type { PiiCipher } from '../../crypto/pii.js';
import * as flowStore from '../../store/flow-store.js';
import type { FlowRow } from '../../store/schema.js';
import type { ServiceDeps } from '../deps.js';

/**
 * A flow's two links are capabilities (the short code opens the face page; a sandbox link alone
 * finishes the flow), so neither is stored in the clear: the short code as a keyed digest for
 * lookups plus its ciphertext, the provider link as ciphertext.
 */
export function shortCodeDigest(cipher: PiiCipher, code: string, keyId?: string): string {
  return cipher.blindIndex('short-code', code, keyId);
}

/** Under every blind-index key held: a link made before a rotation keeps opening during it. */
export function shortCodeDigests(cipher: PiiCipher, code: string): string[] {
  return cipher.blindIndexes('short-code', code);
}

export function sealShortCode(
  cipher: PiiCipher,
  code: string,
  keyId?: string,
): { short_code: string; short_code_enc: string } {
  return { short_code: shortCodeDigest(cipher, code, keyId), short_code_enc: cipher.encrypt(code) };
}

export function shortCodeOf(cipher: PiiCipher, flow: Pick<FlowRow, 'short_code' | 'short_code_enc'>): string {
  return flow.short_code_enc === null ? flow.short_code : cipher.decrypt(flow.short_code_enc);
}

/** The provider link in the clear; null while the flow has none. */
export function originalUrlOf(
  cipher: PiiCipher,
  flow: Pick<FlowRow, 'original_url' | 'short_code_enc'>,
): string | null {
  if (flow.original_url === null) return null;
  // Rows not sealed yet (written before migration 003) hold it in the clear.
  return flow.short_code_enc === null ? flow.original_url : cipher.decrypt(flow.original_url);
}

const SEAL_BATCH = 500;

/** Seals the links of flows written before migration 003 (run at start, once the keys are checked). */
export async function sealLegacyFlows(deps: Pick<ServiceDeps, 'store' | 'cipher'>): Promise<number> {
  let sealed = 0;
  for (;;) {
    const batch = await flowStore.findUnsealedFlows(deps.store.db, SEAL_BATCH);
    for (const row of batch) {
      await flowStore.sealFlow(deps.store.db, row.id, {
        // Under the key of the row's other digests, so that the row stays on one key.
        ...sealShortCode(deps.cipher, row.short_code, row.blind_key_id),
        original_url: row.original_url === null ? null : deps.cipher.encrypt(row.original_url),
      });
    }
    sealed += batch.length;
    if (batch.length < SEAL_BATCH) return sealed;
  }
}
