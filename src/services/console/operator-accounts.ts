import { randomUUID } from 'node:crypto';
import { hashPassword } from '../../crypto/password.js';
import { randomBase62 } from '../../crypto/random.js';
import { AppError } from '../../errors.js';
import { isUniqueViolation } from '../../store/db.js';
import * as operatorStore from '../../store/operator-store.js';
import type { OperatorRole } from '../../store/schema.js';
import { type AuditActor, recordAudit } from '../audit.js';
import type { ServiceDeps } from '../deps.js';

type Deps = Pick<ServiceDeps, 'store' | 'cipher' | 'now'>;
type Actor = AuditActor;

export const ROLES: readonly OperatorRole[] = ['admin', 'viewer'];
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Long enough that the one-time password is not the weak point (≈95 bits). */
const ONE_TIME_LENGTH = 16;
export const MIN_PASSWORD_LENGTH = 10;

/** Our own rules for a password an operator chooses; null when it is acceptable. */
export function passwordProblem(password: string, username: string): string | null {
  if ([...password].length < MIN_PASSWORD_LENGTH) return `密码至少需要${MIN_PASSWORD_LENGTH}个字符`;
  if (password.toLowerCase().includes(username.toLowerCase())) return '密码不能包含用户名';
  return null;
}

/**
 * Creates an operator who must change the password at first login. Without `password` a one-time
 * password is generated and returned (shown once); with one (`--password-stdin`) it is checked
 * against the same rules as a chosen password.
 */
export async function createOperator(
  deps: Deps,
  actor: Actor,
  input: { username: string; role: string; password?: string },
): Promise<{ username: string; role: OperatorRole; oneTimePassword: string | null }> {
  if (!USERNAME.test(input.username))
    throw new AppError('invalid', {
      detail: 'username must be 1-64 of [A-Za-z0-9_.-], starting alphanumeric',
    });
  if (!ROLES.includes(input.role as OperatorRole))
    throw new AppError('invalid', { detail: 'role must be admin or viewer' });
  const role = input.role as OperatorRole;
  if (input.password !== undefined) {
    const problem = passwordProblem(input.password, input.username);
    if (problem) throw new AppError('invalid', { detail: `password rejected: ${problem}` });
  }
  const password = input.password ?? randomBase62(ONE_TIME_LENGTH);
  const hash = await hashPassword(password);
  try {
    await deps.store.db.transaction().execute(async (trx) => {
      await operatorStore.insertOperator(trx, {
        id: randomUUID(),
        username: input.username,
        role,
        password_hash: hash,
        must_change_password: 1,
        disabled_at: null,
        last_login_at: null,
        created_at: deps.now(),
      });
      await recordAudit(
        deps,
        { actor, action: 'operator.create', target: input.username, detail: { role } },
        trx,
      );
    });
  } catch (err) {
    if (isUniqueViolation(err))
      throw new AppError('conflict', { detail: `operator "${input.username}" already exists` });
    throw err;
  }
  return { username: input.username, role, oneTimePassword: input.password === undefined ? password : null };
}

export async function listOperators(deps: Pick<ServiceDeps, 'store'>) {
  const rows = await operatorStore.listOperators(deps.store.db);
  return rows.map((r) => ({
    username: r.username,
    role: r.role,
    disabled: r.disabled_at !== null,
    mustChangePassword: r.must_change_password === 1,
    lastLoginAt: r.last_login_at,
    createdAt: r.created_at,
  }));
}

async function findOperator(deps: Pick<ServiceDeps, 'store'>, username: string) {
  const op = await operatorStore.findOperatorByUsername(deps.store.db, username);
  if (!op) throw new AppError('not_found', { detail: `no operator named "${username}"` });
  return op;
}

/** Disables an operator; their sessions end at once (every request checks the operator too). */
export async function disableOperator(deps: Deps, actor: Actor, username: string): Promise<void> {
  const op = await findOperator(deps, username);
  await deps.store.db.transaction().execute(async (trx) => {
    await operatorStore.disableOperator(trx, op.id, deps.now());
    await operatorStore.deleteOperatorSessions(trx, op.id);
    await recordAudit(deps, { actor, action: 'operator.disable', target: username }, trx);
  });
}

/** A new one-time password (returned, shown once); the operator's sessions end. */
export async function resetOperatorPassword(deps: Deps, actor: Actor, username: string): Promise<string> {
  const op = await findOperator(deps, username);
  const password = randomBase62(ONE_TIME_LENGTH);
  const hash = await hashPassword(password);
  await deps.store.db.transaction().execute(async (trx) => {
    await operatorStore.setOperatorPassword(trx, op.id, hash, true);
    await operatorStore.deleteOperatorSessions(trx, op.id);
    await recordAudit(deps, { actor, action: 'operator.reset-password', target: username }, trx);
  });
  return password;
}
