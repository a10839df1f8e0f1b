import { invalid } from '../../errors.js';
import { AUDIT_ACTIONS, type AuditAction, type AuditEntry, listAudit } from '../audit.js';
import type { ServiceDeps } from '../deps.js';
import { formatBeijing } from '../time.js';

export interface AuditQuery {
  actor?: string;
  action?: string;
  target?: string;
  from?: string;
  until?: string;
  cursor?: string;
  limit?: string;
}

/** How the console names who acted: operators by username, everyone else by kind too. */
const actorName = (e: AuditEntry) => (e.actorKind === 'operator' ? e.actor : `${e.actorKind}:${e.actor}`);

/** The audit trail for the console's audit page, newest first, filtered by actor, action, object and time. */
export async function listOperatorAudit(deps: Pick<ServiceDeps, 'store'>, q: AuditQuery) {
  if (q.action !== undefined && !(AUDIT_ACTIONS as readonly string[]).includes(q.action)) {
    return { items: [], nextCursor: null };
  }
  const cursor = q.cursor === undefined ? undefined : Number(q.cursor);
  if (cursor !== undefined && !Number.isSafeInteger(cursor)) {
    throw invalid([{ field: 'cursor', code: 'CURSOR', message: '分页游标无效' }]);
  }
  const [kind, id] = q.actor?.includes(':') ? q.actor.split(':', 2) : ['operator', q.actor];
  const page = await listAudit(deps, {
    ...(q.actor !== undefined ? { actorKind: kind as AuditEntry['actorKind'], actor: id ?? '' } : {}),
    ...(q.action !== undefined ? { actions: [q.action as AuditAction] } : {}),
    ...(q.target !== undefined ? { subject: q.target } : {}),
    ...(q.from !== undefined ? { since: Date.parse(q.from) } : {}),
    ...(q.until !== undefined ? { until: Date.parse(q.until) } : {}),
    ...(cursor !== undefined ? { cursor } : {}),
    limit: q.limit === undefined ? 50 : Number(q.limit),
  });
  return {
    items: page.entries.map((e) => ({
      id: String(e.seq),
      at: formatBeijing(e.at),
      actor: actorName(e),
      action: e.action,
      target: e.target ?? e.flowId ?? e.clientId,
      reason: e.reason,
    })),
    nextCursor: page.nextCursor === null ? null : String(page.nextCursor),
  };
}
