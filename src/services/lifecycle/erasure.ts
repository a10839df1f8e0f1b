import { todayInShanghai, validateEraseRequest } from '../../domain/identity/index.js';
import { AppError, invalid } from '../../errors.js';
import * as clientStore from '../../store/client-store.js';
import { flushErased } from '../../store/db.js';
import * as idempotencyStore from '../../store/idempotency-store.js';
import * as lifecycleStore from '../../store/lifecycle-store.js';
import * as personStore from '../../store/person-store.js';
import { type AuditActor, recordAudit } from '../audit.js';
import type { ServiceDeps } from '../deps.js';

type Deps = Pick<ServiceDeps, 'store' | 'cipher' | 'now' | 'logger'>;

/**
 * A deletion request: erases, for one client only, the personal data on all its flows for the
 * person with this ID number, and ends its live flows. Another client's flows stay as they are;
 * the person's own name and ID number go once no flow of any client needs them. Idempotent, and
 * an ID number the client never sent answers 0 like one already erased (no oracle about other
 * clients). Recorded in the audit trail in the same transaction.
 */
export async function erasePerson(
  deps: Deps,
  clientId: string,
  body: unknown,
  ctx: { actor: AuditActor; requestId?: string },
): Promise<{ erasedFlows: number }> {
  const checked = validateEraseRequest(body, { today: todayInShanghai(new Date(deps.now())) });
  if (!checked.ok) throw invalid(checked.errors);
  const person = await personStore.findPersonByIdIndex(
    deps.store.db,
    deps.cipher.blindIndexes('id', checked.value.idNumber),
  );
  const now = deps.now();
  const erasedFlows = await deps.store.db.transaction().execute(async (trx) => {
    const n = person ? await lifecycleStore.eraseClientPersonFlows(trx, clientId, person.id, now) : 0;
    if (person) {
      await lifecycleStore.erasePersonIfUnused(trx, person.id, now);
      // A replay under one of the client's keys would name the erased flows (or the verification).
      await idempotencyStore.deleteIdempotencyKeysForPerson(trx, clientId, person.id);
    }
    await recordAudit(
      deps,
      {
        actor: ctx.actor,
        action: 'person.erase',
        clientId,
        ...(person ? { personId: person.id } : {}),
        ...(ctx.requestId ? { requestId: ctx.requestId } : {}),
        detail: { erasedFlows: n },
      },
      trx,
    );
    return n;
  });
  if (erasedFlows > 0 && !(await flushErased(deps.store))) {
    deps.logger.warn('erased values wait in the SQLite WAL until the next checkpoint');
  }
  return { erasedFlows };
}

/** `etc-esign person erase --client <name> --id-number-stdin`. */
export async function erasePersonForClientName(
  deps: Deps,
  clientName: string,
  idNumber: string,
  actor: AuditActor,
) {
  const client = await clientStore.findClientByName(deps.store.db, clientName);
  if (!client) throw new AppError('not_found', { detail: `no client named "${clientName}"` });
  return erasePerson(deps, client.id, { idNumber }, { actor });
}
