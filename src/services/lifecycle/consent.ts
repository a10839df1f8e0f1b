import { type ConsentLang, consentLangOf, consentTextHash, PROVIDER_CONSENT } from '../../domain/consent.js';
import * as flowStore from '../../store/flow-store.js';
import type { ServiceDeps } from '../deps.js';

type Deps = Pick<ServiceDeps, 'store' | 'now'>;

/**
 * Records the consent given on our (sandbox) page: the version is the hash of the text the page
 * showed, sent back by the form. An unknown version is refused: we record only texts we can show.
 */
export async function recordPageConsent(deps: Deps, flowId: string, version: string): Promise<boolean> {
  const lang: ConsentLang | null = consentLangOf(version);
  if (!lang) return false;
  await flowStore.recordConsent(deps.store.db, flowId, { at: deps.now(), textHash: version, lang });
  return true;
}

/** e签宝 reported the person opened its page, where it asks for consent in its own words. */
export async function recordProviderConsent(deps: Deps, flowId: string): Promise<void> {
  await flowStore.recordConsent(deps.store.db, flowId, {
    at: deps.now(),
    textHash: consentTextHash(PROVIDER_CONSENT.text),
    lang: PROVIDER_CONSENT.lang,
  });
}
