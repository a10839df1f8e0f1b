/**
 * Mainland mobile numbers. Only the shape `1[3-9]` + 9 digits is checked: lists of allocated
 * segments go stale (192 was allocated in 2019), so none is kept here.
 */
export type MobileErrorCode = 'MOBILE_FORMAT';

export type MobileCheck = { ok: true; value: string } | { ok: false; code: MobileErrorCode };

const VALID_MOBILE = /^1[3-9][0-9]{9}$/;
const COUNTRY_PREFIX = /^(?:\+86|0086|86)(?=[0-9]{11}$)/;

/**
 * NFKC turns full-width digits, `＋`, `－` and exotic spaces into ASCII. It runs again after the
 * separators are removed because removing a space can bring a base character and a combining
 * mark together, and the result must be stable under a second normalization.
 */
export function normalizeMobile(raw: string): string {
  const compact = raw.normalize('NFKC').replace(/[\s-]/g, '').normalize('NFKC');
  return compact.replace(COUNTRY_PREFIX, '');
}

export function validateMobile(raw: string): MobileCheck {
  const mobile = normalizeMobile(raw);
  return VALID_MOBILE.test(mobile) ? { ok: true, value: mobile } : { ok: false, code: 'MOBILE_FORMAT' };
}
