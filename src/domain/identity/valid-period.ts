/**
 * ID card validity period, `YYYY.MM.DD-YYYY.MM.DD` or `YYYY.MM.DD-长期`. Lengths follow the
 * Resident Identity Card Law §5; permits for HK/Macau/Taiwan residents are always 5 years.
 */
import type { IdKind } from './id-number.js';
import {
  addYears,
  ageOn,
  type CivilDate,
  compareDates,
  daysBetween,
  isLeapYear,
  isRealDate,
} from './today.js';

export type ValidPeriodErrorCode = 'PERIOD_FORMAT' | 'PERIOD_EXPIRED' | 'PERIOD_DURATION';

/** Years; `null` means 长期. */
export type PeriodLength = 5 | 10 | 20 | null;

export interface ParsedValidPeriod {
  /** Canonical text. */
  validPeriod: string;
  start: CivilDate;
  /** `null` for 长期. */
  end: CivilDate | null;
}

export type ValidPeriodCheck =
  | { ok: true; value: ParsedValidPeriod }
  | { ok: false; code: ValidPeriodErrorCode };

/** What the ID number tells us about its holder; absent when the ID number itself is invalid. */
export interface PeriodHolder {
  birthDate: CivilDate;
  idKind: IdKind;
}

export interface ValidPeriodOptions {
  today: CivilDate;
  holder?: PeriodHolder | null;
}

const CANONICAL = /^(\d{4})\.(\d{2})\.(\d{2})-(?:(\d{4})\.(\d{2})\.(\d{2})|长期)$/;
const COMPACT = /^(\d{4})(\d{2})(\d{2})-(\d{4})(\d{2})(\d{2})$/;
const LENGTHS = [5, 10, 20] as const;

/** Applications precede issuance, so a card may reflect the age up to this many days earlier. */
export const AGE_BOUNDARY_TOLERANCE_DAYS = 90;

/** Unrecognised input is returned NFKC-normalized and trimmed, so the function stays idempotent. */
export function normalizeValidPeriod(raw: string): string {
  const text = raw.normalize('NFKC').trim();
  const compact = COMPACT.exec(text);
  if (!compact) return text;
  const [, y1, m1, d1, y2, m2, d2] = compact;
  return `${y1}.${m1}.${d1}-${y2}.${m2}.${d2}`;
}

export function parseValidPeriod(raw: string): ParsedValidPeriod | null {
  const validPeriod = normalizeValidPeriod(raw);
  const m = CANONICAL.exec(validPeriod);
  if (!m) return null;
  const start = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  if (!isRealDate(start.year, start.month, start.day)) return null;
  if (m[4] === undefined) return { validPeriod, start, end: null };
  const end = { year: Number(m[4]), month: Number(m[5]), day: Number(m[6]) };
  if (!isRealDate(end.year, end.month, end.day)) return null;
  return { validPeriod, start, end };
}

/** Which statutory length the period has, or `undefined` when it has none of them. */
export function periodLength(start: CivilDate, end: CivilDate | null): PeriodLength | undefined {
  if (end === null) return null;
  return LENGTHS.find((years) => endsAfterYears(start, end, years));
}

function endsAfterYears(start: CivilDate, end: CivilDate, years: number): boolean {
  const year = start.year + years;
  if (end.year !== year) return false;
  if (start.month === 2 && start.day === 29) {
    // The reference lets a Feb 29 start end on either neighbour, not only on a Feb 29 that exists.
    return (
      (end.month === 2 && end.day === 28) ||
      (end.month === 3 && end.day === 1) ||
      (end.month === 2 && end.day === 29 && isLeapYear(year))
    );
  }
  return end.month === start.month && end.day === start.day;
}

/** §5: under 16 → 5 years, 16–25 → 10, 26–45 → 20, 46 and over → 长期. */
function lengthForAge(age: number): PeriodLength {
  if (age < 16) return 5;
  if (age < 26) return 10;
  if (age < 46) return 20;
  return null;
}

const AGE_BOUNDARIES = [16, 26, 46] as const;

/**
 * The length for the age at the start date, plus the previous category when the holder crossed a
 * boundary birthday within the tolerance window before the start date (inclusive).
 */
export function allowedLengths(birthDate: CivilDate, start: CivilDate): PeriodLength[] {
  const allowed = [lengthForAge(ageOn(birthDate, start))];
  for (const boundary of AGE_BOUNDARIES) {
    const gap = daysBetween(addYears(birthDate, boundary), start);
    if (gap >= 0 && gap <= AGE_BOUNDARY_TOLERANCE_DAYS) allowed.push(lengthForAge(boundary - 1));
  }
  return allowed;
}

export function validateValidPeriod(raw: string, opts: ValidPeriodOptions): ValidPeriodCheck {
  const parsed = parseValidPeriod(raw);
  if (!parsed) return { ok: false, code: 'PERIOD_FORMAT' };
  const { start, end } = parsed;
  const holder = opts.holder ?? null;

  if (compareDates(start, opts.today) > 0) return { ok: false, code: 'PERIOD_FORMAT' };
  if (holder && compareDates(start, holder.birthDate) < 0) return { ok: false, code: 'PERIOD_FORMAT' };
  if (end && compareDates(end, opts.today) < 0) return { ok: false, code: 'PERIOD_EXPIRED' };

  const length = periodLength(start, end);
  if (length === undefined) return { ok: false, code: 'PERIOD_DURATION' };
  if (holder) {
    const fits =
      holder.idKind === 'CN' ? allowedLengths(holder.birthDate, start).includes(length) : length === 5;
    if (!fits) return { ok: false, code: 'PERIOD_DURATION' };
  }
  return { ok: true, value: parsed };
}
