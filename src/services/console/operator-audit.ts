import type { Executor } from '../../store/db.js';
import type { ServiceDeps } from '../deps.js';

/**
 * What the console and the operator CLI write into the access and change trail (issue 11's
 * `audit_events`): who, what, about which object, why. Ids only, never a clear personal value.
 */
export interface OperatorAction {
  /** Operator username, or the OS user for the CLI. */
  actor: { kind: 'operator' | 'cli'; id: string };
  action:
    | 'flow.read'
    | 'flow.reveal'
    | 'flow.search'
    | 'client.create'
    | 'client.update'
    | 'client.rotate-secret'
    | 'token.create'
    | 'token.revoke'
    | 'delivery.redeliver'
    | 'operator.create'
    | 'operator.disable'
    | 'operator.reset-password'
    | 'operator.login';
  clientId?: string;
  flowId?: string;
  personId?: string;
  target?: string;
  reason?: string;
  requestId?: string;
  detail?: Record<string, string | number | boolean | null>;
}

export type AuditDeps = Pick<ServiceDeps, 'store' | 'cipher' | 'now'>;

/**
 * Appends one action to the trail, inside `trx` when given (the entry exists exactly when the change
 * does). Call it last in a transaction: appends are serialized on the chain's head row.
 */
export async function recordOperatorAction(
  _deps: AuditDeps,
  _action: OperatorAction,
  _trx?: Executor,
): Promise<void> {
  // Wired to the audit trail once its branch (issue 11) lands.
}

export interface AuditQuery {
  actor?: string;
  action?: string;
  target?: string;
  from?: string;
  until?: string;
  cursor?: string;
  limit?: string;
}

/** The trail for the console's audit page, newest first. */
export async function listOperatorAudit(_deps: Pick<ServiceDeps, 'store'>, _q: AuditQuery) {
  return {
    items: [] as {
      id: string;
      at: string;
      actor: string;
      action: string;
      target: string | null;
      reason: string | null;
    }[],
    nextCursor: null as string | null,
  };
}
