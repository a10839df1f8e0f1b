import { AppError } from '../../errors.js';
import * as clientStore from '../../store/client-store.js';
import { type ConfigDeps, createClient } from './admin.js';
import { createToken } from './tokens.js';

/**
 * First start of the sandbox: with no client at all, create `default` and one token so the
 * README's curl works at once. Returns the token, or null when clients already exist.
 */
export async function ensureDefaultClient(deps: ConfigDeps): Promise<string | null> {
  if ((await clientStore.countClients(deps.store.db)) > 0) return null;
  try {
    await createClient(deps, 'default');
  } catch (err) {
    // Another process bootstrapped at the same moment; it prints the token.
    if (err instanceof AppError && err.kind === 'conflict') return null;
    throw err;
  }
  return (await createToken(deps, 'default', null)).token;
}
