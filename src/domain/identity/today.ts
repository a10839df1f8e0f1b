/**
 * Calendar dates without a time zone ("civil" dates). Identity rules talk about days, never
 * instants, so everything here is integer arithmetic on year/month/day.
 */
export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000;

/** Asia/Shanghai has been UTC+8 without DST since 1991, so a fixed offset is exact for "now". */
export function todayInShanghai(now: Date = new Date()): CivilDate {
  const ms = now.getTime();
  if (Number.isNaN(ms)) throw new RangeError('todayInShanghai: invalid Date');
  const shifted = new Date(ms + SHANGHAI_OFFSET_MS);
  return { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate() };
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

export function isRealDate(year: number, month: number, day: number): boolean {
  return (
    Number.isInteger(year) &&
    Number.isInteger(month) &&
    Number.isInteger(day) &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month)
  );
}

/** Negative, zero or positive like a sort comparator. */
export function compareDates(a: CivilDate, b: CivilDate): number {
  return a.year - b.year || a.month - b.month || a.day - b.day;
}

/**
 * Days since 1970-01-01 (proleptic Gregorian). Own arithmetic rather than `Date.UTC`, which
 * maps years 0–99 to 1900–1999 and would corrupt dates parsed from arbitrary input.
 */
export function toEpochDay(d: CivilDate): number {
  const y = d.month <= 2 ? d.year - 1 : d.year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (d.month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d.day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function fromEpochDay(epochDay: number): CivilDate {
  const z = epochDay + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** Whole days from `a` to `b` (positive when `b` is later). */
export function daysBetween(a: CivilDate, b: CivilDate): number {
  return toEpochDay(b) - toEpochDay(a);
}

/**
 * The same month and day `years` later. Feb 29 becomes Mar 1 in a common year, which is the day
 * `ageOn` counts the birthday as reached, so anniversaries and ages always agree.
 */
export function addYears(d: CivilDate, years: number): CivilDate {
  const year = d.year + years;
  if (d.month === 2 && d.day === 29 && !isLeapYear(year)) return { year, month: 3, day: 1 };
  return { year, month: d.month, day: d.day };
}

/** Completed years of age on `on`; the age goes up on the birthday itself. */
export function ageOn(birth: CivilDate, on: CivilDate): number {
  const age = on.year - birth.year;
  const hadBirthday = compareDates(addYears(birth, age), on) <= 0;
  return hadBirthday ? age : age - 1;
}
