import { describe, expect, it } from 'vitest';
import { normalizeName, validateName } from '../../../src/domain/identity/name.js';

const codeOf = (raw: string) => {
  const r = validateName(raw);
  return r.ok ? 'OK' : r.code;
};

describe('validateName', () => {
  it.each([
    ['张三', '张三'],
    ['  王小明\u3000', '王小明'],
    ['艾哈迈德·买买提', '艾哈迈德·买买提'],
    ['艾哈迈德•买买提', '艾哈迈德·买买提'],
    ['艾哈迈德・买买提', '艾哈迈德·买买提'],
    ['艾哈迈德･买买提', '艾哈迈德·买买提'],
    ['艾哈迈德‧买买提', '艾哈迈德·买买提'],
    ['艾哈迈德⋅买买提', '艾哈迈德·买买提'],
    ['艾哈迈德．买买提', '艾哈迈德·买买提'],
    ['艾哈迈德.买买提', '艾哈迈德·买买提'],
    ['𠀀明', '𠀀明'],
    ['\uF900\uF901', '\uF900\uF901'],
    ['李〇', '李〇'],
  ])('accepts %s as %s', (raw, expected) => {
    expect(validateName(raw)).toEqual({ ok: true, value: expected });
  });

  it('does not NFC/NFKC-normalize (compatibility ideographs keep their code points)', () => {
    const name = '\uF900\uF901';
    expect(name.normalize('NFC')).not.toBe(name);
    expect(normalizeName(name)).toBe(name);
  });

  it('counts code points, not UTF-16 units', () => {
    expect('𠀀明'.length).toBe(3);
    expect(validateName('𠀀')).toEqual({ ok: false, code: 'NAME_CHARS' });
    expect(validateName('𠀀'.repeat(32))).toEqual({ ok: true, value: '𠀀'.repeat(32) });
    expect(validateName('𠀀'.repeat(33))).toEqual({ ok: false, code: 'TOO_LONG' });
    expect(validateName('张'.repeat(33))).toEqual({ ok: false, code: 'TOO_LONG' });
  });

  it.each([
    ['张', 'single character'],
    ['张3', 'digit'],
    ['Zhang San', 'latin'],
    ['张San', 'mixed latin'],
    ['张三😀', 'emoji'],
    ['张\u200B三', 'zero-width space'],
    ['\u200B张三', 'leading zero-width space'],
    ['张\u200D三', 'zero-width joiner'],
    ['张\u0000三', 'control'],
    ['张 三', 'inner space'],
    ['张\u3000三', 'inner ideographic space'],
    ['·张三', 'leading dot'],
    ['张三·', 'trailing dot'],
    ['张··三', 'double dot'],
    ['张·•三', 'double dot after mapping'],
    ['张..三', 'two full stops'],
    ['.张三', 'leading full stop'],
    ['A.张', 'full stop not between Han'],
    ['张、三', 'enumeration comma'],
    ['张三\uFE00', 'variation selector'],
    ['키보드', 'Hangul'],
    ['カタカナ', 'Katakana'],
    ['\u00A0张三', 'non-breaking space is not trimmed'],
    ['⺀⺁', 'CJK radicals supplement (U+2E80, U+2E81)'],
    ['张⼈', 'Kangxi radical U+2F08 beside a Han character'],
    ['\u2FD5\u2FD5', 'last Kangxi radical U+2FD5'],
    ['⼈·⼈', 'radicals around a middle dot'],
  ])('rejects %s (%s) with NAME_CHARS', (raw) => {
    expect(codeOf(raw)).toBe('NAME_CHARS');
  });
});
