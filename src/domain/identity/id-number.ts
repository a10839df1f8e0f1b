/**
 * Resident ID numbers (GB 11643-1999) and the HK/Macau/Taiwan residence permits that share their
 * structure: 6-digit address code, 8-digit birth date, 3-digit sequence, 1 check character.
 */
import { ageOn, type CivilDate, compareDates, isRealDate } from './today.js';

/** Same shape as the provider's `IdKind`; declared here so the domain does not import providers. */
export type IdKind = 'CN' | 'HK' | 'MO' | 'TW';

export type IdNumberErrorCode = 'ID_FORMAT' | 'ID_CHECKSUM' | 'ID_BIRTHDATE' | 'ID_REGION' | 'UNDERAGE';

export interface ParsedIdNumber {
  /** Normalized: 17 ASCII digits then a digit or upper-case `X`. */
  idNumber: string;
  idKind: IdKind;
  birthDate: CivilDate;
}

export type IdNumberCheck =
  | { ok: true; value: ParsedIdNumber }
  | { ok: false; code: Exclude<IdNumberErrorCode, 'UNDERAGE'> }
  /** A well-formed number whose holder is too young: the parsed number still checks the period. */
  | { ok: false; code: 'UNDERAGE'; value: ParsedIdNumber };

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const CHECK_CHARS = '10X98765432';
const EARLIEST_BIRTH_YEAR = 1900;

/** Permits carry a fixed address code instead of a real one. */
const PERMIT_CODES: Readonly<Record<string, IdKind>> = { '810000': 'HK', '820000': 'MO', '830000': 'TW' };

/** 71 (Taiwan) and 91 (abroad) exist in the code table but are never issued on ID cards. */
const PROVINCE_RANGES: readonly (readonly [number, number])[] = [
  [11, 15],
  [21, 23],
  [31, 37],
  [41, 46],
  [50, 54],
  [61, 65],
];

/** ISO 7064 MOD 11-2 check character over the first 17 digits. */
export function idCheckChar(first17: string): string {
  if (!/^[0-9]{17}$/.test(first17)) throw new RangeError('idCheckChar needs exactly 17 ASCII digits');
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * (WEIGHTS[i] ?? 0);
  return CHECK_CHARS[sum % 11] ?? '';
}

/**
 * NFKC first so full-width digits and `ｘ` become ASCII, trim afterwards so whitespace produced
 * by NFKC is removed too (keeps the function idempotent).
 */
export function normalizeIdNumber(raw: string): string {
  return raw.normalize('NFKC').replaceAll('x', 'X').trim();
}

export function idKindOf(addressCode: string): IdKind | null {
  const permit = PERMIT_CODES[addressCode];
  if (permit) return permit;
  const province = Number(addressCode.slice(0, 2));
  return PROVINCE_RANGES.some(([lo, hi]) => province >= lo && province <= hi) ? 'CN' : null;
}

/** Everything that makes the number itself valid; age is a policy checked separately. */
export function parseIdNumber(
  raw: string,
  today: CivilDate,
): { ok: true; value: ParsedIdNumber } | { ok: false; code: Exclude<IdNumberErrorCode, 'UNDERAGE'> } {
  const idNumber = normalizeIdNumber(raw);
  if (!/^[0-9]{17}[0-9X]$/.test(idNumber)) return { ok: false, code: 'ID_FORMAT' };
  if (idCheckChar(idNumber.slice(0, 17)) !== idNumber[17]) return { ok: false, code: 'ID_CHECKSUM' };

  const birthDate = {
    year: Number(idNumber.slice(6, 10)),
    month: Number(idNumber.slice(10, 12)),
    day: Number(idNumber.slice(12, 14)),
  };
  if (
    !isRealDate(birthDate.year, birthDate.month, birthDate.day) ||
    birthDate.year < EARLIEST_BIRTH_YEAR ||
    compareDates(birthDate, today) > 0
  ) {
    return { ok: false, code: 'ID_BIRTHDATE' };
  }

  const idKind = idKindOf(idNumber.slice(0, 6));
  if (!idKind) return { ok: false, code: 'ID_REGION' };
  return { ok: true, value: { idNumber, idKind, birthDate } };
}

/** Everything about the number plus the age policy (`minAge` completed years on `today`). */
export function validateIdNumber(raw: string, opts: { today: CivilDate; minAge: number }): IdNumberCheck {
  const parsed = parseIdNumber(raw, opts.today);
  if (parsed.ok && ageOn(parsed.value.birthDate, opts.today) < opts.minAge) {
    return { ok: false, code: 'UNDERAGE', value: parsed.value };
  }
  return parsed;
}
