import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fromEpochDay,
  idCheckChar,
  maskIdNumber,
  normalizeIdNumber,
  normalizeMobile,
  normalizeName,
  normalizeValidPeriod,
  parseIdNumber,
  toEpochDay,
  validateFaceRequest,
  validateIdNumber,
  validateMobile,
} from '../../../src/domain/identity/index.js';

const today = { year: 2026, month: 11, day: 28 };
const yyyymmdd = (d: { year: number; month: number; day: number }) =>
  `${d.year}${String(d.month).padStart(2, '0')}${String(d.day).padStart(2, '0')}`;
const opts = { today, minAge: 18 };
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS = '0123456789X';

const provinces = [
  [11, 15],
  [21, 23],
  [31, 37],
  [41, 46],
  [50, 54],
  [61, 65],
].flatMap(([lo = 0, hi = 0]) => Array.from({ length: hi - lo + 1 }, (_, i) => String(lo + i)));

const regionArb = fc.oneof(
  fc
    .tuple(fc.constantFrom(...provinces), fc.integer({ min: 0, max: 9999 }))
    .map(([province, rest]) => `${province}${String(rest).padStart(4, '0')}`),
  fc.constantFrom('810000', '820000', '830000'),
);
const birthArb = fc
  .integer({ min: toEpochDay({ year: 1900, month: 1, day: 1 }), max: toEpochDay(today) })
  .map(fromEpochDay);

/** Valid IDs built from random parts, with the check character computed. */
const validIdArb = fc
  .tuple(regionArb, birthArb, fc.integer({ min: 0, max: 999 }))
  .map(([region, birth, seq]) => {
    const first17 = `${region}${yyyymmdd(birth)}${String(seq).padStart(3, '0')}`;
    return first17 + idCheckChar(first17);
  });

const codeOf = (raw: string) => {
  const r = parseIdNumber(raw, today);
  return r.ok ? 'OK' : r.code;
};

const swap = (text: string, i: number) => text.slice(0, i) + text[i + 1] + text[i] + text.slice(i + 2);

describe('ID number properties', () => {
  it('generated IDs are valid', () => {
    fc.assert(
      fc.property(validIdArb, (id) => {
        expect(codeOf(id)).toBe('OK');
      }),
    );
  });

  it('(1) any single-character change is rejected with ID_CHECKSUM', () => {
    fc.assert(
      fc.property(
        validIdArb,
        fc.integer({ min: 0, max: 17 }),
        fc.integer({ min: 1, max: 10 }),
        (id, pos, shift) => {
          const alphabet = pos === 17 ? CHECK_CHARS : CHECK_CHARS.slice(0, 10);
          const current = alphabet.indexOf(id[pos] ?? '');
          const replacement =
            alphabet[(current + 1 + ((shift - 1) % (alphabet.length - 1))) % alphabet.length];
          expect(replacement).not.toBe(id[pos]);
          const changed = id.slice(0, pos) + replacement + id.slice(pos + 1);
          expect(codeOf(changed)).toBe('ID_CHECKSUM');
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('(2) any adjacent swap of two different characters is rejected', () => {
    fc.assert(
      fc.property(validIdArb, fc.integer({ min: 0, max: 16 }), (id, i) => {
        fc.pre(id[i] !== id[i + 1]);
        const swapped = swap(id, i);
        // Moving an X check character into position 16 breaks the format before the checksum.
        expect(codeOf(swapped)).toBe(swapped[16] === 'X' ? 'ID_FORMAT' : 'ID_CHECKSUM');
      }),
      { numRuns: 1000 },
    );
  });

  it('(2) holds by the arithmetic for every position and digit pair', () => {
    // Digit i carries weight WEIGHTS[i]; the check character acts with weight 1 (S + c ≡ 1 mod 11).
    const weights = [...WEIGHTS, 1];
    for (let i = 0; i < 17; i++) {
      for (let a = 0; a <= 10; a++) {
        for (let b = 0; b <= 10; b++) {
          if (a === b || (i < 16 && (a === 10 || b === 10))) continue;
          const delta = (a - b) * ((weights[i] ?? 0) - (weights[i + 1] ?? 0));
          expect(delta % 11, `position ${i}, ${a}↔${b}`).not.toBe(0);
        }
      }
    }
  });

  it('(2) swapping an X check character with its neighbour is a format error', () => {
    expect(codeOf(swap('11010519491231002X', 16))).toBe('ID_FORMAT');
    for (const id of [
      '11010519491231002X',
      '110105194912310038',
      '440308199901101512',
      '810000199408230021',
    ]) {
      for (let i = 0; i < 17; i++) {
        if (id[i] !== id[i + 1]) expect(codeOf(swap(id, i))).not.toBe('OK');
      }
    }
  });

  it('(4) a masked ID never contains its birth date', () => {
    fc.assert(
      fc.property(validIdArb, (id) => {
        const masked = maskIdNumber(id);
        expect(masked).toHaveLength(18);
        expect(masked).toBe(`${id.slice(0, 4)}${'*'.repeat(10)}${id.slice(14)}`);
        expect(masked).not.toContain(id.slice(6, 14));
      }),
    );
  });
});

/** Characters the normalizers treat specially, mixed with arbitrary code points. */
const trickyUnit = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.constantFrom(
    ...'0123456789xX+-.·•・･‧⋅．－＋０１８６ｘＸ长期张三𠀀 \t\u3000\u00A0\u0301\u00A8\u200B\uFEFF\uF900'.split(
      '',
    ),
    '86',
    '+86',
    '0086',
    '长期',
    '𠀀',
  ),
);
const trickyString = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: trickyUnit, maxLength: 24 }));

describe('(3) normalizing twice equals normalizing once', () => {
  it.each([
    ['name', normalizeName],
    ['idNumber', normalizeIdNumber],
    ['mobile', normalizeMobile],
    ['validPeriod', normalizeValidPeriod],
  ])('%s', (_field, normalize) => {
    fc.assert(
      fc.property(trickyString, (raw) => {
        const once = normalize(raw);
        expect(normalize(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });

  it('a validated person validates to itself', () => {
    const personArb = fc.record({
      name: fc.constantFrom('张三', ' 艾哈迈德•买买提 ', '𠀀明'),
      idNumber: fc.constantFrom(
        '31010119850615018x',
        '３１０１０１１９８５０６１５００１６',
        ' 310101198506150016 ',
      ),
      mobile: fc.constantFrom('+86 138-0013-8000', '13800138000', '００８６１３９００１３９０００'),
      validPeriod: fc.constantFrom(
        '20190101-20390101',
        '2019.01.01-2039.01.01',
        ' ２０１９．０１．０１－２０３９．０１．０１ ',
      ),
    });
    fc.assert(
      fc.property(personArb, (body) => {
        const first = validateFaceRequest(body, opts);
        if (!first.ok) throw new Error(JSON.stringify(first.errors));
        expect(validateFaceRequest(first.value, opts)).toEqual(first);
      }),
    );
  });
});

describe('(5) decorated mobiles normalize back to themselves', () => {
  const fullWidth = (c: string) => String.fromCharCode(c.charCodeAt(0) + 0xfee0);
  const mobileArb = fc
    .tuple(fc.integer({ min: 3, max: 9 }), fc.integer({ min: 0, max: 999_999_999 }))
    .map(([second, rest]) => `1${second}${String(rest).padStart(9, '0')}`);
  const separator = fc.constantFrom('', '', '', ' ', '-', '\u3000', '－', ' - ');
  const edge = fc.constantFrom('', ' ', '\t', '\u3000', '  ');

  it('prefixes, separators, full-width characters and edge spaces', () => {
    fc.assert(
      fc.property(
        mobileArb,
        fc.constantFrom('', '+86', '0086', '86'),
        fc.array(separator, { minLength: 20, maxLength: 20 }),
        fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
        edge,
        edge,
        (mobile, prefix, separators, wide, lead, trail) => {
          const chars = [...prefix, ...mobile];
          const body = chars.map((c, i) => `${wide[i] ? fullWidth(c) : c}${separators[i] ?? ''}`).join('');
          const decorated = `${lead}${body}${trail}`;
          expect(normalizeMobile(decorated)).toBe(mobile);
          expect(validateMobile(decorated)).toEqual({ ok: true, value: mobile });
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('validateIdNumber agrees with parseIdNumber plus the age rule', () => {
  it('on generated IDs', () => {
    fc.assert(
      fc.property(validIdArb, (id) => {
        const result = validateIdNumber(id, opts);
        const parsed = parseIdNumber(id, today);
        if (!parsed.ok) throw new Error('generated ID must parse');
        const { year, month, day } = parsed.value.birthDate;
        const adult =
          year + 18 < today.year || (year + 18 === today.year && (month < 11 || (month === 11 && day <= 28)));
        expect(result.ok).toBe(adult);
      }),
    );
  });
});
