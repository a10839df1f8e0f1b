import { describe, expect, it } from 'vitest';
import { FIELD_ERROR_CODES, validateFaceRequest } from '../../../src/domain/identity/validate.js';

const opts = { today: { year: 2026, month: 11, day: 28 }, minAge: 18 };

const valid = {
  name: '张三',
  idNumber: '310101198506150016',
  mobile: '13800138000',
  validPeriod: '2019.01.01-2039.01.01',
};

const err = (field: string, code: string, message: string) => ({ field, code, message });

const ALL_REQUIRED = [
  err('name', 'REQUIRED', '姓名不能为空'),
  err('idNumber', 'REQUIRED', '身份证号不能为空'),
  err('mobile', 'REQUIRED', '手机号不能为空'),
  err('validPeriod', 'REQUIRED', '证件有效期不能为空'),
];

describe('validateFaceRequest', () => {
  it('returns the normalized person with kind and birth date', () => {
    expect(validateFaceRequest(valid, opts)).toEqual({
      ok: true,
      value: { ...valid, idKind: 'CN', birthDate: { year: 1985, month: 6, day: 15 } },
    });
  });

  it('normalizes every field', () => {
    const body = {
      name: ' 艾哈迈德•买买提 ',
      idNumber: '３１０１０１１９７００１０１００１３',
      mobile: '+86 138-0013-8000',
      validPeriod: '２０２０．０５．０１－长期',
    };
    expect(validateFaceRequest(body, opts)).toEqual({
      ok: true,
      value: {
        name: '艾哈迈德·买买提',
        idNumber: '310101197001010013',
        mobile: '13800138000',
        validPeriod: '2020.05.01-长期',
        idKind: 'CN',
        birthDate: { year: 1970, month: 1, day: 1 },
      },
    });
    expect(
      validateFaceRequest(
        { ...valid, idNumber: '31010119850615018x', validPeriod: '20190101-20390101' },
        opts,
      ),
    ).toMatchObject({
      ok: true,
      value: { idNumber: '31010119850615018X', validPeriod: '2019.01.01-2039.01.01' },
    });
  });

  it('accepts residence permits and reports their kind', () => {
    expect(
      validateFaceRequest(
        { ...valid, idNumber: '810000199408230021', validPeriod: '2023.01.01-2028.01.01' },
        opts,
      ),
    ).toEqual({
      ok: true,
      value: {
        ...valid,
        idNumber: '810000199408230021',
        validPeriod: '2023.01.01-2028.01.01',
        idKind: 'HK',
        birthDate: { year: 1994, month: 8, day: 23 },
      },
    });
  });

  it("flags exactly idNumber and mobile in the seed's sample body", () => {
    const seed = JSON.parse(
      '{"name":"张三","mobile":"1500000000","idNumber":"310000000000000000","validPeriod":"2019.01.01-2039.01.01"}',
    );
    expect(validateFaceRequest(seed, opts)).toEqual({
      ok: false,
      errors: [
        err('idNumber', 'ID_CHECKSUM', '身份证号校验位错误'),
        err('mobile', 'MOBILE_FORMAT', '手机号格式错误，应为11位中国大陆手机号'),
      ],
    });
  });

  it('treats missing, null, empty and blank values as REQUIRED and other JSON types as TYPE', () => {
    expect(validateFaceRequest({ idNumber: null, validPeriod: ' \u3000\t' }, opts)).toEqual({
      ok: false,
      errors: ALL_REQUIRED,
    });
    expect(
      validateFaceRequest({ name: 12, idNumber: true, mobile: ['13800138000'], validPeriod: {} }, opts),
    ).toEqual({
      ok: false,
      errors: [
        err('name', 'TYPE', '姓名须为字符串'),
        err('idNumber', 'TYPE', '身份证号须为字符串'),
        err('mobile', 'TYPE', '手机号须为字符串'),
        err('validPeriod', 'TYPE', '证件有效期须为字符串'),
      ],
    });
    expect(validateFaceRequest({ ...valid, name: '' }, opts)).toEqual({
      ok: false,
      errors: [err('name', 'REQUIRED', '姓名不能为空')],
    });
  });

  it('answers a body that is not a JSON object with one body-level error', () => {
    for (const body of [null, undefined, 42, 'body', true, [], [valid]]) {
      expect(validateFaceRequest(body, opts)).toEqual({
        ok: false,
        errors: [err('body', 'BODY_TYPE', '请求体必须是JSON对象')],
      });
    }
  });

  it('gives each field and code exactly one message, however the value fails', () => {
    const messages = new Map<string, Set<string>>();
    const bodies: Record<string, unknown>[] = [
      {},
      { name: null, idNumber: null, mobile: null, validPeriod: null },
      { name: '', idNumber: '', mobile: '', validPeriod: '' },
      { name: '   ', idNumber: '\u3000', mobile: '\t', validPeriod: ' ' },
      { name: 1, idNumber: 2, mobile: 3, validPeriod: 4 },
      { name: [], idNumber: {}, mobile: false, validPeriod: [1] },
      { name: 'x'.repeat(40), idNumber: '1'.repeat(40), mobile: '1'.repeat(40), validPeriod: '1'.repeat(40) },
      {
        name: ` ${'x'.repeat(40)} `,
        idNumber: ` ${'1'.repeat(40)}`,
        mobile: '1'.repeat(33),
        validPeriod: 'x'.repeat(33),
      },
    ];
    for (const body of bodies) {
      const r = validateFaceRequest(body, opts);
      if (r.ok) throw new Error('expected errors');
      for (const e of r.errors) {
        const key = `${e.field}:${e.code}`;
        messages.set(key, (messages.get(key) ?? new Set()).add(e.message));
      }
    }
    expect([...messages.keys()].sort()).toEqual(
      ['idNumber', 'mobile', 'name', 'validPeriod']
        .flatMap((f) => [`${f}:REQUIRED`, `${f}:TOO_LONG`, `${f}:TYPE`])
        .sort(),
    );
    for (const [key, set] of messages) expect([key, [...set]]).toEqual([key, [...set].slice(0, 1)]);
  });

  it('accepts a name of 32 Han characters with surrounding spaces (trimmed before the length rule)', () => {
    const name = `  ${'张'.repeat(32)}\u3000`;
    expect(validateFaceRequest({ ...valid, name }, opts)).toEqual({
      ok: true,
      value: { ...valid, name: '张'.repeat(32), idKind: 'CN', birthDate: { year: 1985, month: 6, day: 15 } },
    });
  });

  it('ignores inherited properties and unknown fields', () => {
    const inherited = Object.create(valid);
    expect(validateFaceRequest(inherited, opts)).toMatchObject({ ok: false, errors: { length: 4 } });
    expect(validateFaceRequest({ ...valid, extra: 'x', __proto__: null }, opts).ok).toBe(true);
  });

  it('checks length on the trimmed string in code points', () => {
    const long = '1'.repeat(33);
    expect(
      validateFaceRequest(
        { ...valid, name: '张'.repeat(33), idNumber: long, mobile: long, validPeriod: long },
        opts,
      ),
    ).toEqual({
      ok: false,
      errors: [
        err('name', 'TOO_LONG', '姓名长度不能超过32个字符'),
        err('idNumber', 'TOO_LONG', '身份证号长度不能超过32个字符'),
        err('mobile', 'TOO_LONG', '手机号长度不能超过32个字符'),
        err('validPeriod', 'TOO_LONG', '证件有效期长度不能超过32个字符'),
      ],
    });
    expect(validateFaceRequest({ ...valid, name: `  ${'𠀀'.repeat(32)}  ` }, opts).ok).toBe(true);
  });

  it('reports one error per field, the first failing rule, in field order', () => {
    expect(
      validateFaceRequest(
        {
          name: '张',
          idNumber: '310101900101123',
          mobile: '12800138000',
          validPeriod: '2019.01.01-2030.01.01',
        },
        opts,
      ),
    ).toEqual({
      ok: false,
      errors: [
        err('name', 'NAME_CHARS', '姓名须为2个以上汉字，可用间隔号“·”分隔'),
        err('idNumber', 'ID_FORMAT', '身份证号格式错误，应为18位（17位数字加1位数字或X）'),
        err('mobile', 'MOBILE_FORMAT', '手机号格式错误，应为11位中国大陆手机号'),
        err('validPeriod', 'PERIOD_DURATION', '证件有效期年限与证件类型或年龄不符'),
      ],
    });
  });

  it('checks the period against the holder only when the ID number is valid', () => {
    const young = { ...valid, idNumber: '31010120000615001X' };
    expect(validateFaceRequest(young, opts)).toEqual({
      ok: false,
      errors: [err('validPeriod', 'PERIOD_DURATION', '证件有效期年限与证件类型或年龄不符')],
    });
    expect(validateFaceRequest({ ...young, idNumber: '310101200006150010' }, opts)).toEqual({
      ok: false,
      errors: [err('idNumber', 'ID_CHECKSUM', '身份证号校验位错误')],
    });
  });

  it('still checks the period against the birth date of an underage holder', () => {
    expect(
      validateFaceRequest(
        { ...valid, idNumber: '310101200811290015', validPeriod: '2019.01.01-2039.01.01' },
        opts,
      ),
    ).toEqual({
      ok: false,
      errors: [
        err('idNumber', 'UNDERAGE', '未满18周岁，不能办理'),
        err('validPeriod', 'PERIOD_DURATION', '证件有效期年限与证件类型或年龄不符'),
      ],
    });
    expect(
      validateFaceRequest(
        { ...valid, idNumber: '31010120081128001X', validPeriod: '2024.01.01-2029.01.01' },
        opts,
      ),
    ).toMatchObject({ ok: true });
    expect(
      validateFaceRequest(
        { ...valid, idNumber: '310101200811290015', validPeriod: '2024.01.01-2029.01.01' },
        opts,
      ),
    ).toEqual({ ok: false, errors: [err('idNumber', 'UNDERAGE', '未满18周岁，不能办理')] });
  });

  it('reports an expired card', () => {
    expect(validateFaceRequest({ ...valid, validPeriod: '2006.11.27-2026.11.27' }, opts)).toEqual({
      ok: false,
      errors: [err('validPeriod', 'PERIOD_EXPIRED', '证件已过期')],
    });
  });

  it('never echoes submitted values in messages', () => {
    const body = {
      name: 'SECRET名',
      idNumber: '310000000000000000',
      mobile: '1500000000',
      validPeriod: 'SECRET',
    };
    const result = validateFaceRequest(body, opts);
    expect(result.ok).toBe(false);
    const text = JSON.stringify(result);
    for (const value of ['SECRET', '310000000000000000', '1500000000']) expect(text).not.toContain(value);
  });
});

describe('FIELD_ERROR_CODES', () => {
  it('lists every code once, each with a Chinese description', () => {
    expect(FIELD_ERROR_CODES.map((entry) => entry.code)).toEqual([
      'BODY_TYPE',
      'REQUIRED',
      'TYPE',
      'TOO_LONG',
      'ID_FORMAT',
      'ID_CHECKSUM',
      'ID_BIRTHDATE',
      'ID_REGION',
      'NAME_CHARS',
      'MOBILE_FORMAT',
      'PERIOD_FORMAT',
      'PERIOD_EXPIRED',
      'PERIOD_DURATION',
      'UNDERAGE',
    ]);
    for (const { description } of FIELD_ERROR_CODES) expect(description).toMatch(/\p{Script=Han}/u);
  });
});
