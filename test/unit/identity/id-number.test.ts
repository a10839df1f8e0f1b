import { describe, expect, it } from 'vitest';
import {
  idCheckChar,
  normalizeIdNumber,
  parseIdNumber,
  validateIdNumber,
} from '../../../src/domain/identity/id-number.js';

const today = { year: 2026, month: 11, day: 28 };
const opts = { today, minAge: 18 };
const codeOf = (raw: string) => {
  const r = validateIdNumber(raw, opts);
  return r.ok ? 'OK' : r.code;
};

describe('idCheckChar', () => {
  it('computes the MOD 11-2 check character', () => {
    expect(idCheckChar('11010519491231002')).toBe('X');
    expect(idCheckChar('11010519491231003')).toBe('8');
    expect(idCheckChar('44030819990110151')).toBe('2');
    expect(idCheckChar('31000000000000000')).toBe('4');
  });

  it('refuses anything but 17 ASCII digits', () => {
    expect(() => idCheckChar('1101051949123100')).toThrow(RangeError);
    expect(() => idCheckChar('1101051949123100X')).toThrow(RangeError);
  });
});

describe('validateIdNumber', () => {
  it.each([
    ['11010519491231002X', 'CN', { year: 1949, month: 12, day: 31 }],
    ['110105194912310038', 'CN', { year: 1949, month: 12, day: 31 }],
    ['440308199901101512', 'CN', { year: 1999, month: 1, day: 10 }],
    ['810000199408230021', 'HK', { year: 1994, month: 8, day: 23 }],
    ['830000199201300022', 'TW', { year: 1992, month: 1, day: 30 }],
    ['820000199001010010', 'MO', { year: 1990, month: 1, day: 1 }],
  ])('accepts the known-valid %s', (idNumber, idKind, birthDate) => {
    expect(validateIdNumber(idNumber, opts)).toEqual({ ok: true, value: { idNumber, idKind, birthDate } });
  });

  it('normalizes lowercase x, full-width characters and surrounding spaces', () => {
    const expected = {
      ok: true,
      value: { idNumber: '11010519491231002X', idKind: 'CN', birthDate: expect.anything() },
    };
    expect(validateIdNumber('11010519491231002x', opts)).toEqual(expected);
    expect(validateIdNumber('１１０１０５１９４９１２３１００２Ｘ', opts)).toEqual(expected);
    expect(validateIdNumber('１１０１０５１９４９１２３１００２ｘ', opts)).toEqual(expected);
    expect(validateIdNumber(' \u300011010519491231002X\t', opts)).toEqual(expected);
  });

  it.each([
    ['310101900101123', '15-digit first generation'],
    ['31010119900101001', '17 digits'],
    ['3101011990010100121', '19 digits'],
    ['X10105194912310038', 'X not last'],
    ['11010519491231002Y', 'other letter'],
    ['110105 19491231002X', 'inner space'],
    ['110105-19491231-002X', 'dashes'],
    ['١١٠١٠٥١٩٤٩١٢٣١٠٠٢X', 'Arabic-Indic digits'],
  ])('rejects %s (%s) with ID_FORMAT', (raw) => {
    expect(codeOf(raw)).toBe('ID_FORMAT');
  });

  it('rejects a wrong check character with ID_CHECKSUM (the seed sample among them)', () => {
    expect(codeOf('310000000000000000')).toBe('ID_CHECKSUM');
    expect(codeOf('110105194912310039')).toBe('ID_CHECKSUM');
    expect(codeOf('110105194912310020')).toBe('ID_CHECKSUM');
  });

  it('checks the birth date: real, from 1900, not after today', () => {
    expect(codeOf('310101200002290015')).toBe('OK');
    expect(codeOf('310101199602290013')).toBe('OK');
    expect(codeOf('310101190002290019')).toBe('ID_BIRTHDATE');
    expect(codeOf('310101200102290012')).toBe('ID_BIRTHDATE');
    expect(codeOf('310101199002300011')).toBe('ID_BIRTHDATE');
    expect(codeOf('310101189912310017')).toBe('ID_BIRTHDATE');
    expect(codeOf('310101190001010011')).toBe('OK');
    expect(codeOf('31010120261129001X')).toBe('ID_BIRTHDATE');
  });

  it('accepts only issued regions', () => {
    expect(codeOf('710000199001010015')).toBe('ID_REGION');
    expect(codeOf('910000199001010012')).toBe('ID_REGION');
    expect(codeOf('810001199001010015')).toBe('ID_REGION');
    expect(codeOf('160000199001010012')).toBe('ID_REGION');
    expect(codeOf('470000199001010015')).toBe('ID_REGION');
    expect(codeOf('100000199001010011')).toBe('ID_REGION');
    expect(codeOf('660000199001010010')).toBe('ID_REGION');
    expect(codeOf('650000199001010019')).toBe('OK');
    expect(codeOf('210000199001010017')).toBe('OK');
    expect(codeOf('810000199408230021')).toBe('OK');
    expect(codeOf('820000199001010010')).toBe('OK');
    expect(codeOf('830000199201300022')).toBe('OK');
  });

  it('rejects holders under the minimum age, by one day', () => {
    expect(codeOf('310101200811290015')).toBe('UNDERAGE');
    expect(codeOf('31010120081128001X')).toBe('OK');
    expect(codeOf('310101202611280014')).toBe('UNDERAGE');
    expect(validateIdNumber('310101200811290015', { today, minAge: 17 }).ok).toBe(true);
  });

  it('parseIdNumber leaves age to the caller', () => {
    expect(parseIdNumber('310101202611280014', today)).toEqual({
      ok: true,
      value: { idNumber: '310101202611280014', idKind: 'CN', birthDate: { year: 2026, month: 11, day: 28 } },
    });
  });

  it('normalizeIdNumber keeps other input recognisable but normalized', () => {
    expect(normalizeIdNumber('  abc x ')).toBe('abc X');
  });
});
