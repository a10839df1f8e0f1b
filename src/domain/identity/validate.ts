/**
 * Validation of the four person fields of `POST /esign/api/auth/individual/face`. Pure: "today"
 * and the minimum age come from the caller. Messages are fixed Chinese text and never echo input.
 */
import type { FieldError } from '../../errors.js';
import { type IdKind, type IdNumberErrorCode, parseIdNumber, validateIdNumber } from './id-number.js';
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
  | 'BODY_TYPE'
  | 'REQUIRED'
  | 'TYPE'
  | 'TOO_LONG'
  | IdNumberErrorCode
  | NameErrorCode
  | MobileErrorCode
  | ValidPeriodErrorCode;

export type ValidationResult = { ok: true; value: ValidatedPerson } | { ok: false; errors: FieldError[] };

export const FIELD_MAX_CODE_POINTS = 32;

/** Every code a field error can carry, for the API documentation. */
export const FIELD_ERROR_CODES: readonly { code: FieldErrorCode; description: string }[] = [
  { code: 'BODY_TYPE', description: '请求体必须是JSON对象' },
  { code: 'REQUIRED', description: '字段缺失、为null或去掉首尾空白后为空' },
  { code: 'TYPE', description: '字段须为字符串（不接受数字、布尔值、数组或对象）' },
  { code: 'TOO_LONG', description: '去掉首尾空白后超过32个字符' },
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

/** Exactly one message per field and code, so clients may show it as it is. */
function messageFor(field: FieldName, code: FieldErrorCode, opts: ValidationOptions): string {
  if (code === 'REQUIRED') return `${FIELD_LABELS[field]}不能为空`;
  if (code === 'TYPE') return `${FIELD_LABELS[field]}须为字符串`;
  if (code === 'TOO_LONG') return `${FIELD_LABELS[field]}长度不能超过${FIELD_MAX_CODE_POINTS}个字符`;
  if (code === 'UNDERAGE') return `未满${opts.minAge}周岁，不能办理`;
  return DESCRIPTIONS.get(code) ?? code;
}

type JsonObject = Record<string, unknown>;

const isObject = (body: unknown): body is JsonObject =>
  typeof body === 'object' && body !== null && !Array.isArray(body);

const BODY_TYPE_ERROR: FieldError = { field: 'body', code: 'BODY_TYPE', message: '请求体必须是JSON对象' };

/** The checks shared by all fields; returns the raw string when they pass. */
function presentString(
  value: unknown,
): { ok: true; raw: string } | { ok: false; code: 'REQUIRED' | 'TYPE' | 'TOO_LONG' } {
  if (value === undefined || value === null) return { ok: false, code: 'REQUIRED' };
  if (typeof value !== 'string') return { ok: false, code: 'TYPE' };
  const trimmed = value.trim();
  if (trimmed === '') return { ok: false, code: 'REQUIRED' };
  if (codePointLength(trimmed) > FIELD_MAX_CODE_POINTS) return { ok: false, code: 'TOO_LONG' };
  return { ok: true, raw: value };
}

type Outcome<T> = { ok: true; value: T } | { ok: false; code: FieldErrorCode };

function check<T>(body: JsonObject, field: FieldName, rule: (raw: string) => Outcome<T>): Outcome<T> {
  const present = presentString(Object.hasOwn(body, field) ? body[field] : undefined);
  return present.ok ? rule(present.raw) : present;
}

/**
 * The only judge of a face request body: the HTTP schema merely documents it. Unknown extra
 * fields are ignored; a body that is not a JSON object gets one body-level error.
 */
export function validateFaceRequest(body: unknown, opts: ValidationOptions): ValidationResult {
  if (!isObject(body)) return { ok: false, errors: [BODY_TYPE_ERROR] };
  const name = check(body, 'name', validateName);

  let holder: PeriodHolder | null = null;
  const idNumber = check(body, 'idNumber', (raw) => {
    const checked = validateIdNumber(raw, opts);
    // Underage is a policy, not a defect of the number: its birth date still checks the period.
    if (checked.ok || checked.code === 'UNDERAGE') holder = checked.value;
    return checked;
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

/**
 * The body of `POST /esign/api/persons/erase`: `{ idNumber }`. The number must be a valid one (so
 * a typo is answered, not silently matched to nobody); the age policy does not apply to erasure.
 */
export function validateEraseRequest(
  body: unknown,
  opts: Pick<ValidationOptions, 'today'>,
): { ok: true; value: { idNumber: string } } | { ok: false; errors: FieldError[] } {
  if (!isObject(body)) return { ok: false, errors: [BODY_TYPE_ERROR] };
  const idNumber = check(body, 'idNumber', (raw) => parseIdNumber(raw, opts.today));
  if (idNumber.ok) return { ok: true, value: { idNumber: idNumber.value.idNumber } };
  return {
    ok: false,
    errors: [
      {
        field: 'idNumber',
        code: idNumber.code,
        message: messageFor('idNumber', idNumber.code, { today: opts.today, minAge: 0 }),
      },
    ],
  };
}
