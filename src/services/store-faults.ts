import { AppError } from '../errors.js';

/**
 * Database failures that are not bugs but the store being away (PostgreSQL restarting or
 * unreachable) or full (SQLite on a full disk). They become a 503 `unavailable` the client may
 * retry, instead of a 500, and each names its cause for the log line. Null for anything else.
 */
export function storeFault(err: unknown): AppError | null {
  const cause = describeStoreFault(err);
  return cause ? new AppError('unavailable', { detail: cause, cause: err }) : null;
}

/** PostgreSQL SQLSTATEs of a server that is shutting down, starting up or gone. */
const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300']);
/** Socket-level failures of the pg driver (server stopped, connection cut mid-query). */
const NET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);
/** pg's own messages for the same, which it throws as plain Errors without a code. */
const PG_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'Client has encountered a connection error',
  'Connection terminated unexpectedly',
];

export function describeStoreFault(err: unknown): string | null {
  if (typeof err !== 'object' || err === null) return null;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (code === 'SQLITE_FULL')
    return 'SQLite: database or disk is full (SQLITE_FULL); writes fail until space is freed';
  if (typeof code === 'string' && code.startsWith('SQLITE_IOERR'))
    return `SQLite: I/O error (${code}); check the disk holding the database`;
  if (typeof code === 'string' && (code.startsWith('08') || PG_UNAVAILABLE.has(code)))
    return `PostgreSQL unavailable (SQLSTATE ${code})`;
  // Only socket errors of the driver's own connection carry a syscall; a client hanging up on us
  // (an aborted request body, also ECONNRESET) does not.
  const { syscall } = err as { syscall?: unknown };
  if (typeof code === 'string' && NET_UNAVAILABLE.has(code) && typeof syscall === 'string')
    return `PostgreSQL unreachable (${code})`;
  if (typeof message === 'string' && PG_MESSAGES.some((m) => message.startsWith(m)))
    return `PostgreSQL unreachable (${message.slice(0, 80)})`;
  // AggregateError from a connection attempt to several addresses (e.g. localhost → ::1 and 127.0.0.1).
  const errors = (err as { errors?: unknown }).errors;
  if (Array.isArray(errors) && errors.length > 0) return describeStoreFault(errors[0]);
  return null;
}
