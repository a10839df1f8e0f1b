import { describe, expect, it } from 'vitest';
import { normalizeMobile, validateMobile } from '../../../src/domain/identity/mobile.js';

describe('validateMobile', () => {
  it.each([
    ['13800138000'],
    [' 13800138000 '],
    ['138 0013 8000'],
    ['138-0013-8000'],
    ['+86 138 0013 8000'],
    ['+86-138-0013-8000'],
    ['+8613800138000'],
    ['008613800138000'],
    ['8613800138000'],
    ['１３８００１３８０００'],
    ['＋８６　１３８－００１３－８０００'],
    ['\u300013800138000\t'],
  ])('normalizes %s to 13800138000', (raw) => {
    expect(validateMobile(raw)).toEqual({ ok: true, value: '13800138000' });
  });

  it('accepts every second digit 3–9, including segments allocated recently', () => {
    for (const mobile of ['13000000000', '14500000000', '16600000000', '19200000000', '19900000000']) {
      expect(validateMobile(mobile)).toEqual({ ok: true, value: mobile });
    }
  });

  it.each([
    ['1500000000', '10 digits (the seed sample)'],
    ['138001380001', '12 digits'],
    ['12800138000', 'second digit 2'],
    ['23800138000', 'not starting with 1'],
    ['+85213800138000', 'other country code'],
    ['8613800138', 'prefix with only 8 digits after it'],
    ['86 86 13800138000', 'double prefix'],
    ['138.0013.8000', 'dots'],
    ['(138)00138000', 'parentheses'],
    ['138—0013—8000', 'em dashes'],
    ['1380013800O', 'letter O'],
  ])('rejects %s (%s) with MOBILE_FORMAT', (raw) => {
    expect(validateMobile(raw)).toEqual({ ok: false, code: 'MOBILE_FORMAT' });
  });

  it('strips a prefix only when exactly 11 digits follow', () => {
    expect(normalizeMobile('86123')).toBe('86123');
    expect(normalizeMobile('8686123456789')).toBe('86123456789');
  });
});
