import { describe, expect, it } from 'vitest';
import { maskIdNumber, maskMobile, maskName } from '../../../src/domain/identity/mask.js';

describe('masking', () => {
  it('shows the first and last 4 of an ID number', () => {
    expect(maskIdNumber('310101199001011234')).toBe('3101**********1234');
    expect(maskIdNumber('11010519491231002X')).toBe('1101**********002X');
  });

  it('shows 3 + 4 digits of a mobile', () => {
    expect(maskMobile('13800138000')).toBe('138****8000');
  });

  it('shows only the last code point of a name', () => {
    expect(maskName('张三')).toBe('*三');
    expect(maskName('王小明')).toBe('**明');
    expect(maskName('𠀀明')).toBe('*明');
    expect(maskName('明𠀀')).toBe('*𠀀');
    expect(maskName('张')).toBe('*');
    expect(maskName('')).toBe('');
  });

  it('masks malformed short values entirely', () => {
    expect(maskIdNumber('1234567890')).toBe('**********');
    expect(maskIdNumber('')).toBe('');
    expect(maskMobile('1500000000')).toBe('**********');
    expect(maskMobile('123')).toBe('***');
  });
});
