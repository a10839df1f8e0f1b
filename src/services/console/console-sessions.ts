import { randomBytes, timingSafeEqual } from 'node:crypto';
import { dummyHash, hashPassword, verifyPassword } from '../../crypto/password.js';
import { secretDigest } from '../../crypto/secret-digest.js';
import { AppError } from '../../errors.js';
import * as operatorStore from '../../store/operator-store.js';
import type { OperatorRole } from '../../store/schema.js';
import { recordAudit } from '../audit.js';
import type { ServiceDeps } from '../deps.js';
import { hit } from '../rate-limits.js';
import { passwordProblem } from './operator-accounts.js';

type Deps = Pick<ServiceDeps, 'store' | 'cipher' | 'now' | 'config' | 'rateLimiter' | 'logger'>;

/** Failed logins allowed per username and per IP within the window, before answering 429. */
export const LOGIN_FAILURES = 5;
export const LOGIN_WINDOW_MS = 15 * 60_000;

export interface OperatorSession {
  sessionId: string;
  operatorId: string;
  username: string;
  role: OperatorRole;
  mustChangePassword: boolean;
  csrfToken: string;
}

export interface NewSession extends OperatorSession {
  /** The cookie value; only its digest is stored. */
  cookieValue: string;
  maxAgeSeconds: number;
}

const unauthorized = () => new AppError('unauthorized', { userMessage: '未登录或登录已过期' });
const badLogin = () => new AppError('unauthorized', { userMessage: '用户名或密码错误' });

const throttleKeys = (username: string, ip: string) => [
  `console-login-user:${username.toLowerCase()}`,
  `console-login-ip:${ip}`,
];

async function refuseWhileThrottled(deps: Deps, keys: string[]): Promise<void> {
  for (const key of keys) {
    let d: Awaited<ReturnType<Deps['rateLimiter']['peek']>>;
    try {
      d = await deps.rateLimiter.peek(key, LOGIN_FAILURES, LOGIN_WINDOW_MS, deps.now());
    } catch (err) {
      deps.logger.error({ err }, 'rate limiter unavailable; login not throttled');
      return;
    }
    if (!d.allowed) {
      throw new AppError('rate_limited', {
        retryAfter: d.retryAfterSec,
        userMessage: '登录失败次数过多，请稍后再试',
        detail: `console login throttled (${key.split(':')[0]})`,
      });
    }
  }
}

/**
 * Checks a username and password and opens a session. Failures count per username and per client
 * IP (in Redis when configured, so across processes); after LOGIN_FAILURES of either within
 * LOGIN_WINDOW_MS every attempt is refused with 429, the right password included, until the window
 * moves on. Unknown and disabled usernames cost the same hash check as real ones.
 */
export async function login(
  deps: Deps,
  input: { username: string; password: string; ip: string; requestId: string },
): Promise<NewSession> {
  const keys = throttleKeys(input.username, input.ip);
  await refuseWhileThrottled(deps, keys);
  const op = await operatorStore.findOperatorByUsername(deps.store.db, input.username);
  const ok = await verifyPassword(input.password, op?.password_hash ?? (await dummyHash()));
  if (!op || !ok || op.disabled_at !== null) {
    for (const key of keys) await hit(deps, key, LOGIN_FAILURES, LOGIN_WINDOW_MS);
    throw badLogin();
  }
  const now = deps.now();
  const cookieValue = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  const maxAgeSeconds = deps.config.console.sessionHours * 3600;
  const sessionId = secretDigest(cookieValue);
  await deps.store.db.transaction().execute(async (trx) => {
    await operatorStore.deleteExpiredSessions(trx, now);
    await operatorStore.insertSession(trx, {
      id: sessionId,
      operator_id: op.id,
      csrf_token: csrfToken,
      created_at: now,
      expires_at: now + maxAgeSeconds * 1000,
    });
    await operatorStore.touchOperatorLogin(trx, op.id, now);
    await recordAudit(
      deps,
      { actor: { kind: 'operator', id: op.username }, action: 'operator.login', requestId: input.requestId },
      trx,
    );
  });
  return {
    sessionId,
    operatorId: op.id,
    username: op.username,
    role: op.role,
    mustChangePassword: op.must_change_password === 1,
    csrfToken,
    cookieValue,
    maxAgeSeconds,
  };
}

/** The session a cookie names, if it is live and its operator is not disabled; 401 otherwise. */
export async function authenticateSession(
  deps: Pick<ServiceDeps, 'store' | 'now'>,
  cookieValue: string | undefined,
): Promise<OperatorSession> {
  if (!cookieValue || cookieValue.length > 100) throw unauthorized();
  const row = await operatorStore.findLiveSession(deps.store.db, secretDigest(cookieValue), deps.now());
  if (!row) throw unauthorized();
  return {
    sessionId: row.session_id,
    operatorId: row.operator_id,
    username: row.username,
    role: row.role,
    mustChangePassword: row.must_change_password === 1,
    csrfToken: row.csrf_token,
  };
}

/** Constant-time comparison of the CSRF header with the session's token. */
export function csrfMatches(session: OperatorSession, header: string | undefined): boolean {
  if (!header) return false;
  const a = Buffer.from(header);
  const b = Buffer.from(session.csrfToken);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function logout(deps: Pick<ServiceDeps, 'store'>, session: OperatorSession): Promise<void> {
  await operatorStore.deleteSession(deps.store.db, session.sessionId);
}

/**
 * Sets the operator's own password (required after create and reset). Other sessions of the
 * operator end; this one stays.
 */
export async function changePassword(
  deps: Pick<ServiceDeps, 'store'>,
  session: OperatorSession,
  input: { currentPassword: string; newPassword: string },
): Promise<OperatorSession> {
  const op = await operatorStore.findOperatorByUsername(deps.store.db, session.username);
  if (!op || !(await verifyPassword(input.currentPassword, op.password_hash))) {
    throw new AppError('invalid', {
      data: { errors: [{ field: 'currentPassword', code: 'PASSWORD_WRONG', message: '当前密码不正确' }] },
    });
  }
  const problem =
    passwordProblem(input.newPassword, op.username) ??
    (input.newPassword === input.currentPassword ? '新密码不能与当前密码相同' : null);
  if (problem) {
    throw new AppError('invalid', {
      data: { errors: [{ field: 'newPassword', code: 'PASSWORD_WEAK', message: problem }] },
    });
  }
  const hash = await hashPassword(input.newPassword);
  await deps.store.db.transaction().execute(async (trx) => {
    await operatorStore.setOperatorPassword(trx, op.id, hash, false);
    await operatorStore.deleteOperatorSessions(trx, op.id, session.sessionId);
  });
  return { ...session, mustChangePassword: false };
}
