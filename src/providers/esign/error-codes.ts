/**
 * e签宝 answer codes → our error kind and the plain Chinese message clients see. The message never
 * repeats e签宝's own `message`, which may echo submitted data; the log detail carries only the
 * code, the HTTP status and the operation.
 */
import { AppError } from '../../errors.js';

export type UpstreamErrorKind = 'upstream_refused' | 'upstream_unavailable' | 'upstream_timeout';

export interface EsignCodeMapping {
  kind: UpstreamErrorKind;
  userMessage: string;
}

export const ESIGN_CODE = {
  missingParameter: 30500100,
  parameterError: 30500101,
  tooManyAttempts: 30500052,
  alreadyVerified: 30500152,
  flowExpired: 30500003,
  flowNotFound: 30500004,
  noFaceRecord: 30503055,
  balanceExhausted: 30503107,
  accountExists: 53000000,
  accountNotFound: 53000001,
  gatewayUnauthorized: 401,
} as const;

const refused = (userMessage: string): EsignCodeMapping => ({ kind: 'upstream_refused', userMessage });

export const ESIGN_ERROR_CODES: ReadonlyMap<number, EsignCodeMapping> = new Map([
  [ESIGN_CODE.missingParameter, refused('认证服务提示缺少必要参数')],
  [ESIGN_CODE.parameterError, refused('认证服务认为提交的信息有误，请核对后重试')],
  [ESIGN_CODE.tooManyAttempts, refused('该用户认证次数过多，请稍后再试')],
  [ESIGN_CODE.alreadyVerified, refused('该用户已完成实名认证')],
  [ESIGN_CODE.flowExpired, refused('认证流程已过期，请重新发起认证')],
  [ESIGN_CODE.flowNotFound, refused('认证流程不存在')],
  [ESIGN_CODE.noFaceRecord, refused('该认证流程尚无刷脸记录')],
  [ESIGN_CODE.balanceExhausted, refused('认证服务余额不足，请联系运营人员')],
  [ESIGN_CODE.accountExists, refused('认证服务中该用户账号已存在')],
  [ESIGN_CODE.accountNotFound, refused('认证服务中不存在该用户账号')],
  [ESIGN_CODE.gatewayUnauthorized, refused('认证服务拒绝了本系统的接入凭证，请联系运营人员')],
]);

/** e签宝 gateway 401 messages we name in logs; anything else is logged as "other". */
const GATEWAY_401_REASONS: ReadonlyMap<string, string> = new Map([
  ['INVALID_SIGNATURE', 'INVALID_SIGNATURE'],
  ['INVALID_TIMESTAMP', 'INVALID_TIMESTAMP'],
  ['无效的应用', 'INVALID_APP'],
]);

/** Known codes map as listed; an unknown code is "refused", unless it came with HTTP 5xx. */
export function mapEsignCode(code: number, httpStatus: number): EsignCodeMapping {
  const known = ESIGN_ERROR_CODES.get(code);
  if (known) return known;
  if (httpStatus >= 500) {
    return { kind: 'upstream_unavailable', userMessage: `认证服务暂不可用，请稍后重试（错误码 ${code}）` };
  }
  return refused(`认证服务返回错误（错误码 ${code}）`);
}

export function esignCodeError(
  operation: string,
  answer: { code: number; message: string; httpStatus: number },
): AppError {
  const { kind, userMessage } = mapEsignCode(answer.code, answer.httpStatus);
  const reason =
    answer.code === ESIGN_CODE.gatewayUnauthorized
      ? ` ${GATEWAY_401_REASONS.get(answer.message) ?? 'other'}`
      : '';
  return new AppError(kind, {
    userMessage,
    detail: `esign ${operation} answered code ${answer.code}${reason} (HTTP ${answer.httpStatus})`,
  });
}
