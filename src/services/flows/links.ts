import type { PiiCipher } from '../../crypto/pii.js';
import type { FlowRow } from '../../store/schema.js';

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
