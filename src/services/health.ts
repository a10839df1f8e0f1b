import { sql } from 'kysely';
import type { ServiceDeps } from './deps.js';

export async function checkReady(
  deps: Pick<ServiceDeps, 'store'>,
): Promise<{ ok: boolean; database: string }> {
  try {
    await sql`select 1`.execute(deps.store.db);
    return { ok: true, database: 'ok' };
  } catch {
    return { ok: false, database: 'unreachable' };
  }
}
