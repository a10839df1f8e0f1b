import type { Executor } from './db.js';
import type { ConsoleSessionRow, OperatorRow, OperatorsTable } from './schema.js';

export async function insertOperator(ex: Executor, row: OperatorsTable): Promise<void> {
  await ex.insertInto('operators').values(row).execute();
}

export function findOperatorByUsername(ex: Executor, username: string): Promise<OperatorRow | undefined> {
  return ex.selectFrom('operators').selectAll().where('username', '=', username).executeTakeFirst();
}

export function listOperators(ex: Executor): Promise<OperatorRow[]> {
  return ex.selectFrom('operators').selectAll().orderBy('username').execute();
}

export async function setOperatorPassword(
  ex: Executor,
  id: string,
  passwordHash: string,
  mustChange: boolean,
): Promise<void> {
  await ex
    .updateTable('operators')
    .set({ password_hash: passwordHash, must_change_password: mustChange ? 1 : 0 })
    .where('id', '=', id)
    .execute();
}

export async function disableOperator(ex: Executor, id: string, at: number): Promise<void> {
  await ex.updateTable('operators').set({ disabled_at: at }).where('id', '=', id).execute();
}

export async function touchOperatorLogin(ex: Executor, id: string, at: number): Promise<void> {
  await ex.updateTable('operators').set({ last_login_at: at }).where('id', '=', id).execute();
}

export async function insertSession(ex: Executor, row: ConsoleSessionRow): Promise<void> {
  await ex.insertInto('console_sessions').values(row).execute();
}

/** A live session with its operator; disabled operators and expired sessions find nothing. */
export function findLiveSession(ex: Executor, id: string, now: number) {
  return ex
    .selectFrom('console_sessions')
    .innerJoin('operators', 'operators.id', 'console_sessions.operator_id')
    .select([
      'console_sessions.id as session_id',
      'console_sessions.csrf_token',
      'console_sessions.expires_at',
      'operators.id as operator_id',
      'operators.username',
      'operators.role',
      'operators.must_change_password',
    ])
    .where('console_sessions.id', '=', id)
    .where('console_sessions.expires_at', '>', now)
    .where('operators.disabled_at', 'is', null)
    .executeTakeFirst();
}

export async function deleteSession(ex: Executor, id: string): Promise<void> {
  await ex.deleteFrom('console_sessions').where('id', '=', id).execute();
}

/** Ends every session of an operator (disable, password reset), optionally keeping one. */
export async function deleteOperatorSessions(
  ex: Executor,
  operatorId: string,
  exceptId?: string,
): Promise<void> {
  let q = ex.deleteFrom('console_sessions').where('operator_id', '=', operatorId);
  if (exceptId) q = q.where('id', '!=', exceptId);
  await q.execute();
}

export async function deleteExpiredSessions(ex: Executor, now: number): Promise<void> {
  await ex.deleteFrom('console_sessions').where('expires_at', '<=', now).execute();
}
