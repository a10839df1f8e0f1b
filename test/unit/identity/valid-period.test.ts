import { describe, expect, it } from 'vitest';
import type { CivilDate } from '../../../src/domain/identity/today.js';
import {
  allowedLengths,
  normalizeValidPeriod,
  type PeriodHolder,
  validateValidPeriod,
} from '../../../src/domain/identity/valid-period.js';

const today = { year: 2026, month: 11, day: 28 };
const cn = (year: number, month: number, day: number): PeriodHolder => ({
  birthDate: { year, month, day },
  idKind: 'CN',
});
const born1985 = cn(1985, 6, 15);
const born2000 = cn(2000, 6, 15);

const codeOf = (raw: string, holder: PeriodHolder | null = null) => {
  const r = validateValidPeriod(raw, { today, holder });
  return r.ok ? 'OK' : r.code;
};

describe('normalizeValidPeriod', () => {
  it.each([
    ['2019.01.01-2039.01.01', '2019.01.01-2039.01.01'],
    ['20190101-20390101', '2019.01.01-2039.01.01'],
    ['  2019.01.01-长期\u3000', '2019.01.01-长期'],
    ['２０１９．０１．０１－２０３９．０１．０１', '2019.01.01-2039.01.01'],
    ['２０１９０１０１－２０３９０１０１', '2019.01.01-2039.01.01'],
    ['2019.1.1-2039.1.1', '2019.1.1-2039.1.1'],
  ])('%s → %s', (raw, expected) => {
    expect(normalizeValidPeriod(raw)).toBe(expected);
  });
});

describe('validateValidPeriod', () => {
  it('returns the canonical form and parsed dates', () => {
    expect(validateValidPeriod('20190101-20390101', { today, holder: born1985 })).toEqual({
      ok: true,
      value: {
        validPeriod: '2019.01.01-2039.01.01',
        start: { year: 2019, month: 1, day: 1 },
        end: { year: 2039, month: 1, day: 1 },
      },
    });
    expect(validateValidPeriod('2020.05.01-长期', { today, holder: cn(1970, 1, 1) })).toEqual({
      ok: true,
      value: { validPeriod: '2020.05.01-长期', start: { year: 2020, month: 5, day: 1 }, end: null },
    });
  });

  it.each([
    '2019.1.1-2039.1.1',
    '2019/01/01-2039/01/01',
    '2019.01.01 - 2039.01.01',
    '2019.01.01-2039.01',
    '2019.01.01—2039.01.01',
    '2019.01.01-永久',
    '2019.01.01',
    '20190101-长期',
    '2019.02.30-2039.02.30',
    '2019.13.01-2039.13.01',
    '2019.01.01-2039.02.30',
  ])('rejects the malformed %s with PERIOD_FORMAT', (raw) => {
    expect(codeOf(raw)).toBe('PERIOD_FORMAT');
  });

  it('20 years fits a person born in 1985, not one born in 2000', () => {
    expect(codeOf('2019.01.01-2039.01.01', born1985)).toBe('OK');
    expect(codeOf('2019.01.01-2039.01.01', born2000)).toBe('PERIOD_DURATION');
    expect(codeOf('2019.01.01-2029.01.01', born2000)).toBe('OK');
  });

  it('requires the start not after today and not before the birth date', () => {
    expect(codeOf('2026.11.29-2036.11.29')).toBe('PERIOD_FORMAT');
    expect(codeOf('2026.11.28-2046.11.28', born1985)).toBe('OK');
    expect(codeOf('2000.06.14-2005.06.14', born2000)).toBe('PERIOD_FORMAT');
    expect(codeOf('2000.06.14-2030.06.14')).toBe('PERIOD_DURATION');
  });

  it('treats the end day itself as still valid', () => {
    expect(codeOf('2016.11.28-2026.11.28', born2000)).toBe('OK');
    expect(codeOf('2016.11.27-2026.11.27', born2000)).toBe('PERIOD_EXPIRED');
    expect(codeOf('2016.11.27-2026.11.27')).toBe('PERIOD_EXPIRED');
    expect(codeOf('1990.01.01-长期')).toBe('OK');
  });

  it('accepts only 5, 10 or 20 years (same month and day) or 长期', () => {
    expect(codeOf('2019.01.01-2024.01.01')).toBe('PERIOD_EXPIRED');
    expect(codeOf('2022.01.01-2027.01.01')).toBe('OK');
    expect(codeOf('2019.01.01-2029.01.01')).toBe('OK');
    expect(codeOf('2019.01.01-2039.01.01')).toBe('OK');
    expect(codeOf('2019.01.01-长期')).toBe('OK');
    expect(codeOf('2019.01.01-2030.01.01')).toBe('PERIOD_DURATION');
    expect(codeOf('2019.01.01-2039.01.02')).toBe('PERIOD_DURATION');
    expect(codeOf('2019.01.01-2038.12.31')).toBe('PERIOD_DURATION');
  });

  it('lets a Feb 29 start end on Feb 28 or Mar 1', () => {
    const born2012 = cn(2012, 1, 1);
    expect(codeOf('2024.02.29-2029.02.28', born2012)).toBe('OK');
    expect(codeOf('2024.02.29-2029.03.01', born2012)).toBe('OK');
    expect(codeOf('2024.02.29-2029.03.02', born2012)).toBe('PERIOD_DURATION');
    expect(codeOf('2024.02.29-2029.02.27', born2012)).toBe('PERIOD_DURATION');
    expect(codeOf('2024.02.29-2029.02.29', born2012)).toBe('PERIOD_FORMAT');
    expect(codeOf('2020.02.29-2030.02.28', born2000)).toBe('OK');
    expect(codeOf('2020.02.29-2030.03.01', born2000)).toBe('OK');
    expect(codeOf('2016.02.29-2036.02.29', born1985)).toBe('OK');
    expect(codeOf('2016.02.29-2036.02.28', born1985)).toBe('OK');
    expect(codeOf('2016.02.29-2036.03.01', born1985)).toBe('OK');
    expect(codeOf('2023.02.28-2028.02.29')).toBe('PERIOD_DURATION');
  });

  it('gives 长期 only from 46', () => {
    expect(codeOf('2020.05.01-长期', cn(1970, 1, 1))).toBe('OK');
    expect(codeOf('2020.05.01-2040.05.01', cn(1970, 1, 1))).toBe('PERIOD_DURATION');
    expect(codeOf('2019.01.01-长期', born1985)).toBe('PERIOD_DURATION');
  });

  it('uses the age at the start date for 5 and 10 years', () => {
    expect(codeOf('2024.01.01-2029.01.01', cn(2012, 1, 1))).toBe('OK');
    expect(codeOf('2024.01.01-2034.01.01', cn(2012, 1, 1))).toBe('PERIOD_DURATION');
    expect(codeOf('2025.10.01-2035.10.01', cn(2009, 6, 15))).toBe('OK');
    expect(codeOf('2025.10.01-2030.10.01', cn(2009, 6, 15))).toBe('PERIOD_DURATION');
  });

  it('allows the younger category when a boundary birthday is at most 90 days before the start', () => {
    const turns46 = cn(1974, 3, 1);
    expect(codeOf('2020.02.29-2040.02.29', turns46)).toBe('OK');
    expect(codeOf('2020.02.29-长期', turns46)).toBe('PERIOD_DURATION');
    expect(codeOf('2020.03.01-长期', turns46)).toBe('OK');
    expect(codeOf('2020.03.01-2040.03.01', turns46)).toBe('OK');
    expect(codeOf('2020.05.30-2040.05.30', turns46)).toBe('OK');
    expect(codeOf('2020.05.31-2040.05.31', turns46)).toBe('PERIOD_DURATION');
    expect(codeOf('2020.05.31-长期', turns46)).toBe('OK');

    const turns16 = cn(2009, 6, 15);
    expect(codeOf('2025.09.13-2030.09.13', turns16)).toBe('OK');
    expect(codeOf('2025.09.14-2030.09.14', turns16)).toBe('PERIOD_DURATION');
    expect(codeOf('2025.09.14-2035.09.14', turns16)).toBe('OK');
  });

  it('computes allowed lengths directly', () => {
    const birth: CivilDate = { year: 2000, month: 1, day: 10 };
    expect(allowedLengths(birth, { year: 2016, month: 1, day: 9 })).toEqual([5]);
    expect(allowedLengths(birth, { year: 2016, month: 1, day: 10 })).toEqual([10, 5]);
    expect(allowedLengths(birth, { year: 2026, month: 4, day: 10 })).toEqual([20, 10]);
    expect(allowedLengths(birth, { year: 2026, month: 4, day: 11 })).toEqual([20]);
  });

  it('gives residence permits 5 years only, whatever the age', () => {
    const hk: PeriodHolder = { birthDate: { year: 1994, month: 8, day: 23 }, idKind: 'HK' };
    const tw: PeriodHolder = { birthDate: { year: 1950, month: 1, day: 1 }, idKind: 'TW' };
    expect(codeOf('2023.01.01-2028.01.01', hk)).toBe('OK');
    expect(codeOf('2019.01.01-2029.01.01', hk)).toBe('PERIOD_DURATION');
    expect(codeOf('2023.01.01-长期', hk)).toBe('PERIOD_DURATION');
    expect(codeOf('2023.01.01-2028.01.01', tw)).toBe('OK');
    expect(codeOf('2023.01.01-长期', tw)).toBe('PERIOD_DURATION');
  });
});
