import { maskIdNumber, parseIdNumber, todayInShanghai } from '../../domain/identity/index.js';
import { AppError } from '../../errors.js';
import * as clientStore from '../../store/client-store.js';
import * as flowStore from '../../store/flow-store.js';
import * as personStore from '../../store/person-store.js';
import { type AuditActor, recordAudit } from '../audit.js';
import type { ServiceDeps } from '../deps.js';
import { newFlowLimitKey } from './start.js';

/**
 * Resets a client's new-flow limit for a person (RATE_LIMIT_NEW_FLOWS_PER_PERSON) at that client's
 * request; the optional ceiling over all clients is left alone. The client must have asked for
 * this person before, so the command cannot probe who is known. Audited as `person.unblock`.
 */
export async function unblockPerson(
  deps: Pick<ServiceDeps, 'store' | 'cipher' | 'config' | 'rateLimiter' | 'now'>,
  clientName: string,
  rawIdNumber: string,
  actor: AuditActor,
): Promise<{ maskedIdNumber: string }> {
  if (deps.config.redisUrl === null) {
    throw new AppError('invalid', {
      detail:
        'rate limits are counted in the memory of each gateway process (REDIS_URL is unset).\nRestart the gateway to reset them, or set REDIS_URL so this command can.',
    });
  }
  const parsed = parseIdNumber(rawIdNumber, todayInShanghai(new Date(deps.now())));
  if (!parsed.ok)
    throw new AppError('invalid', { detail: `the ID number on stdin is not valid (${parsed.code})` });
  const { idNumber } = parsed.value;
  const client = await clientStore.findClientByName(deps.store.db, clientName);
  if (!client) throw new AppError('not_found', { detail: `no client named "${clientName}"` });
  const person = await personStore.findPersonByIdIndex(
    deps.store.db,
    deps.cipher.blindIndexes('id', idNumber),
  );
  if (!person || !(await flowStore.clientHasFlowsFor(deps.store.db, client.id, person.id))) {
    throw new AppError('not_found', { detail: `client "${clientName}" never asked for this person` });
  }
  try {
    await deps.rateLimiter.reset(newFlowLimitKey(client.id, person.id));
  } catch {
    throw new AppError('upstream_unavailable', {
      detail: 'Redis is unreachable: nothing was reset; check REDIS_URL',
    });
  }
  await recordAudit(deps, {
    actor,
    action: 'person.unblock',
    clientId: client.id,
    personId: person.id,
    target: clientName,
  });
  return { maskedIdNumber: maskIdNumber(idNumber) };
}
