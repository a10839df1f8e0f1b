import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError, ERROR_KINDS, type ErrorKind, type FieldError } from '../errors.js';
import { storeFault } from '../services/store-faults.js';

export const FieldErrorSchema = Type.Object({
  field: Type.String(),
  code: Type.String(),
  message: Type.String(),
});

export function ok<T>(request: FastifyRequest, data: T) {
  return { requestId: request.id, responseCode: '000', responseMsg: '成功', data };
}

export function sendError(request: FastifyRequest, reply: FastifyReply, err: AppError) {
  const kind = ERROR_KINDS[err.kind];
  if (err.retryAfter !== undefined) reply.header('retry-after', String(err.retryAfter));
  return reply.code(kind.status).type('application/json; charset=utf-8').send({
    requestId: request.id,
    responseCode: kind.responseCode,
    responseMsg: err.userMessage,
    data: err.data,
  });
}

const bodyError = (code: string, message: string): FieldError => ({ field: 'body', code, message });

/** Fastify's own errors (body parsing, schema validation) in the closed list of error kinds. */
export function toAppError(err: FastifyError): AppError {
  if (err instanceof AppError) return err;
  const fault = storeFault(err);
  if (fault) return fault;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('too_large', { userMessage: '请求体不能超过16KB' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('invalid', { data: { errors: [bodyError('REQUIRED', '请求体不能为空')] } });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('invalid', {
        data: { errors: [bodyError('JSON_SYNTAX', '请求体不是合法的JSON')] },
      });
  }
  if (err.validation)
    return new AppError('invalid', { data: { errors: fieldErrorsFromSchema(err.validation) } });
  const status = err.statusCode ?? 500;
  if (status === 400 && err instanceof SyntaxError) {
    return new AppError('invalid', { data: { errors: [bodyError('JSON_SYNTAX', '请求体不是合法的JSON')] } });
  }
  // A plugin's 403 (the docs' static files refusing a path outside their root) is not about the
  // token or sys-id that our 401/403 messages speak of: to the caller it is a path that is not there.
  if (status === 403) return new AppError('not_found');
  const kind = (Object.keys(ERROR_KINDS) as ErrorKind[]).find((k) => ERROR_KINDS[k].status === status);
  if (kind && status < 500) return new AppError(kind);
  if (status >= 400 && status < 500) return new AppError('invalid');
  return new AppError('internal', { cause: err });
}

interface SchemaIssue {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
}

/**
 * Failures of routes whose schema validates (parameters, console calls), one per field. The face
 * body is not among them: `domain/identity` alone judges it.
 */
export function fieldErrorsFromSchema(issues: readonly SchemaIssue[]): FieldError[] {
  const byField = new Map<string, FieldError>();
  for (const issue of issues) {
    const path = issue.instancePath.replace(/^\//, '').split('/')[0] ?? '';
    const field = issue.keyword === 'required' ? String(issue.params.missingProperty) : path || 'body';
    if (byField.has(field)) continue;
    byField.set(field, schemaFieldError(field, issue));
  }
  return [...byField.values()];
}

function schemaFieldError(field: string, issue: SchemaIssue): FieldError {
  if (field === 'body' && issue.keyword === 'type') return bodyError('BODY_TYPE', '请求体必须是JSON对象');
  switch (issue.keyword) {
    case 'required':
      return { field, code: 'REQUIRED', message: '不能为空' };
    case 'type':
      return { field, code: 'TYPE', message: '类型错误' };
    case 'maxLength':
      return { field, code: 'TOO_LONG', message: `长度不能超过${issue.params.limit}个字符` };
    case 'minLength':
      return Number(issue.params.limit) > 1
        ? { field, code: 'TOO_SHORT', message: `长度不能少于${issue.params.limit}个字符` }
        : { field, code: 'REQUIRED', message: '不能为空' };
    default:
      return { field, code: 'FORMAT', message: '格式或取值无效' };
  }
}
