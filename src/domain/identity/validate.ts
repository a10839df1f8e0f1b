/**
 * Validation of the four person fields of `POST /esign/api/auth/individual/face`. Pure: "today"
 * and the minimum age come from the caller. Messages are fixed Chinese text and never echo input.
 */
import type { FieldError } from '../../errors.js';
import { type IdKind, type IdNumberErrorCode, isUnderage, parseIdNumber } from './id-number.js';
import { type MobileErrorCode, validateMobile } from './mobile.js';
import { codePointLength, type NameErrorCode, validateName } from './name.js';
import type { CivilDate } from './today.js';
import { type PeriodHolder, type ValidPeriodErrorCode, validateValidPeriod } from './valid-period.js';

export interface FaceRequestFields {
  name: string;
  idNumber: string;
  mobile: string;
  validPeriod: string;
}

export interface ValidatedPerson extends FaceRequestFields {
  idKind: IdKind;
  birthDate: CivilDate;
}

export interface ValidationOptions {
  today: CivilDate;
  minAge: number;
}

export type FieldErrorCode =
  | 'REQUIRED'
  | 'TOO_LONG'
  | IdNumberErrorCode
  | NameErrorCode
  | MobileErrorCode
  | ValidPeriodErrorCode;

export type ValidationResult = { ok: true; value: ValidatedPerson } | { ok: false; errors: FieldError[] };

export const FIELD_MAX_CODE_POINTS = 32;

/** Every code a field error can carry, for the API documentation. */
export const FIELD_ERROR_CODES: readonly { code: FieldErrorCode; description: string }[] = [
  { code: 'REQUIRED', description: '必填，且须为非空字符串' },
  { code: 'TOO_LONG', description: '长度超过32个字符' },
  { code: 'ID_FORMAT', description: '身份证号格式错误，应为18位（17位数字加1位数字或X）' },
  { code: 'ID_CHECKSUM', description: '身份证号校验位错误' },
  { code: 'ID_BIRTHDATE', description: '身份证号中的出生日期无效' },
  { code: 'ID_REGION', description: '身份证号地区码无效' },
  { code: 'NAME_CHARS', description: '姓名须为2个以上汉字，可用间隔号“·”分隔' },
  { code: 'MOBILE_FORMAT', description: '手机号格式错误，应为11位中国大陆手机号' },
  {
    code: 'PERIOD_FORMAT',
    description: '证件有效期格式或日期无效，应为YYYY.MM.DD-YYYY.MM.DD或YYYY.MM.DD-长期',
  },
  { code: 'PERIOD_EXPIRED', description: '证件已过期' },
  { code: 'PERIOD_DURATION', description: '证件有效期年限与证件类型或年龄不符' },
  { code: 'UNDERAGE', description: '年龄未达到办理要求（默认须年满18周岁）' },
];

type FieldName = keyof FaceRequestFields;

const FIELD_LABELS: Readonly<Record<FieldName, string>> = {
  name: '姓名',
  idNumber: '身份证号',
  mobile: '手机号',
  validPeriod: '证件有效期',
};

const DESCRIPTIONS = new Map(FIELD_ERROR_CODES.map((entry) => [entry.code, entry.description]));

function messageFor(field: FieldName, code: FieldErrorCode, opts: ValidationOptions): string {
  if (code === 'REQUIRED') return `${FIELD_LABELS[field]}不能为空`;
  if (code === 'TOO_LONG') return `${FIELD_LABELS[field]}长度不能超过${FIELD_MAX_CODE_POINTS}个字符`;
  if (code === 'UNDERAGE') return `未满${opts.minAge}周岁，不能办理`;
  return DESCRIPTIONS.get(code) ?? code;
}

function readField(body: unknown, field: FieldName): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  return Object.hasOwn(body, field) ? (body as Record<string, unknown>)[field] : undefined;
}

/** The checks shared by all fields; returns the raw string when they pass. */
function presentString(
  value: unknown,
): { ok: true; raw: string } | { ok: false; code: 'REQUIRED' | 'TOO_LONG' } {
  if (typeof value !== 'string') return { ok: false, code: 'REQUIRED' };
  const trimmed = value.trim();
  if (trimmed === '') return { ok: false, code: 'REQUIRED' };
  if (codePointLength(trimmed) > FIELD_MAX_CODE_POINTS) return { ok: false, code: 'TOO_LONG' };
  return { ok: true, raw: value };
}

type Outcome<T> = { ok: true; value: T } | { ok: false; code: FieldErrorCode };

function check<T>(body: unknown, field: FieldName, rule: (raw: string) => Outcome<T>): Outcome<T> {
  const present = presentString(readField(body, field));
  return present.ok ? rule(present.raw) : present;
}

export function validateFaceRequest(body: unknown, opts: ValidationOptions): ValidationResult {
  const name = check(body, 'name', validateName);

  let holder: PeriodHolder | null = null;
  const idNumber = check(body, 'idNumber', (raw) => {
    const parsed = parseIdNumber(raw, opts.today);
    if (!parsed.ok) return parsed;
    // Underage is a policy, not a defect of the number: its birth date still checks the period.
    holder = parsed.value;
    if (isUnderage(parsed.value.birthDate, opts.today, opts.minAge)) return { ok: false, code: 'UNDERAGE' };
    return parsed;
  });

  const mobile = check(body, 'mobile', validateMobile);
  const validPeriod = check(body, 'validPeriod', (raw) =>
    validateValidPeriod(raw, { today: opts.today, holder }),
  );

  const errors: FieldError[] = [];
  const report = (field: FieldName, outcome: Outcome<unknown>) => {
    if (outcome.ok) return;
    errors.push({ field, code: outcome.code, message: messageFor(field, outcome.code, opts) });
  };
  report('name', name);
  report('idNumber', idNumber);
  report('mobile', mobile);
  report('validPeriod', validPeriod);

  if (!name.ok || !idNumber.ok || !mobile.ok || !validPeriod.ok) return { ok: false, errors };
  return {
    ok: true,
    value: {
      name: name.value,
      idNumber: idNumber.value.idNumber,
      mobile: mobile.value,
      validPeriod: validPeriod.value.validPeriod,
      idKind: idNumber.value.idKind,
      birthDate: idNumber.value.birthDate,
    },
  };
}
