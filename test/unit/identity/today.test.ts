import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addYears,
  ageOn,
  compareDates,
  daysBetween,
  fromEpochDay,
  isRealDate,
  todayInShanghai,
  toEpochDay,
} from '../../../src/domain/identity/today.js';

describe('todayInShanghai', () => {
  it('switches to the next day at 16:00 UTC', () => {
    expect(todayInShanghai(new Date('2026-11-27T15:59:59.999Z'))).toEqual({ year: 2026, month: 11, day: 27 });
    expect(todayInShanghai(new Date('2026-11-27T16:00:00.000Z'))).toEqual({ year: 2026, month: 11, day: 28 });
  });

  it('rolls over the year', () => {
    expect(todayInShanghai(new Date('2026-12-31T16:00:00Z'))).toEqual({ year: 2027, month: 1, day: 1 });
  });

  it('rejects an invalid Date', () => {
    expect(() => todayInShanghai(new Date(Number.NaN))).toThrow(RangeError);
  });
});

describe('isRealDate', () => {
  it('knows month lengths and leap years', () => {
    expect(isRealDate(2000, 2, 29)).toBe(true);
    expect(isRealDate(1996, 2, 29)).toBe(true);
    expect(isRealDate(1900, 2, 29)).toBe(false);
    expect(isRealDate(2001, 2, 29)).toBe(false);
    expect(isRealDate(2019, 2, 30)).toBe(false);
    expect(isRealDate(2019, 4, 31)).toBe(false);
    expect(isRealDate(2019, 12, 31)).toBe(true);
    expect(isRealDate(2019, 13, 1)).toBe(false);
    expect(isRealDate(2019, 0, 1)).toBe(false);
    expect(isRealDate(2019, 1, 0)).toBe(false);
  });
});

describe('ageOn', () => {
  const birth = { year: 2008, month: 11, day: 28 };

  it('goes up on the birthday itself', () => {
    expect(ageOn(birth, { year: 2026, month: 11, day: 27 })).toBe(17);
    expect(ageOn(birth, { year: 2026, month: 11, day: 28 })).toBe(18);
  });

  it('counts a Feb 29 birthday as reached on Mar 1 in common years', () => {
    const leapling = { year: 2000, month: 2, day: 29 };
    expect(ageOn(leapling, { year: 2018, month: 2, day: 28 })).toBe(17);
    expect(ageOn(leapling, { year: 2018, month: 3, day: 1 })).toBe(18);
    expect(ageOn(leapling, { year: 2020, month: 2, day: 28 })).toBe(19);
    expect(ageOn(leapling, { year: 2020, month: 2, day: 29 })).toBe(20);
  });
});

describe('date arithmetic', () => {
  it('adds years keeping month and day, Feb 29 rolling to Mar 1', () => {
    expect(addYears({ year: 2019, month: 1, day: 1 }, 20)).toEqual({ year: 2039, month: 1, day: 1 });
    expect(addYears({ year: 2000, month: 2, day: 29 }, 4)).toEqual({ year: 2004, month: 2, day: 29 });
    expect(addYears({ year: 2000, month: 2, day: 29 }, 5)).toEqual({ year: 2005, month: 3, day: 1 });
  });

  it('counts days across months and leap days', () => {
    expect(daysBetween({ year: 2020, month: 3, day: 1 }, { year: 2020, month: 5, day: 30 })).toBe(90);
    expect(daysBetween({ year: 2020, month: 2, day: 28 }, { year: 2020, month: 3, day: 1 })).toBe(2);
    expect(daysBetween({ year: 2026, month: 12, day: 31 }, { year: 2027, month: 1, day: 1 })).toBe(1);
    expect(toEpochDay({ year: 1970, month: 1, day: 1 })).toBe(0);
  });

  it('agrees with Date.UTC and round-trips (years 1000–9999)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -354_000, max: 2_900_000 }), (epochDay) => {
        const d = fromEpochDay(epochDay);
        expect(isRealDate(d.year, d.month, d.day)).toBe(true);
        expect(toEpochDay(d)).toBe(epochDay);
        expect(Date.UTC(d.year, d.month - 1, d.day) / 86_400_000).toBe(epochDay);
        expect(compareDates(d, fromEpochDay(epochDay + 1))).toBeLessThan(0);
      }),
    );
  });
});
