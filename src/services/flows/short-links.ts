import * as flowStore from '../../store/flow-store.js';
import type { ServiceDeps } from '../deps.js';
import { hit, MINUTE, peek } from '../rate-limits.js';
import { originalUrlOf, shortCodeDigests } from './links.js';
import { effectiveStatus, type PublicStatus } from './queries.js';

export type ShortLinkTarget =
  | { kind: 'redirect'; url: string }
  | { kind: 'gone'; status: Exclude<PublicStatus, 'PENDING'> }
  | { kind: 'unknown' }
  | { kind: 'rate_limited'; retryAfterSec: number };

/** Resolves `/s/<code>`: records the first open and sends the person on while the flow is pending. */
export async function openShortLink(deps: ServiceDeps, code: string, ip: string): Promise<ShortLinkTarget> {
  // Per IP, so guessing codes from one address is slow: an address over the limit gets no answer
  // about any code, known or not. Only unknown codes count against it, so a person opening their
  // own link from behind the same carrier NAT as someone guessing is not blocked by their guesses.
  const limit = deps.config.rateLimits.shortLinkPerIp;
  const rate = await peek(deps, `ip:${ip}`, limit, MINUTE);
  if (!rate.allowed) return { kind: 'rate_limited', retryAfterSec: rate.retryAfterSec };
  const flow = /^[0-9A-Za-z]{10,64}$/.test(code)
    ? await flowStore.findFlowByShortCode(deps.store.db, shortCodeDigests(deps.cipher, code))
    : undefined;
  if (!flow) {
    await hit(deps, `ip:${ip}`, limit, MINUTE);
    return { kind: 'unknown' };
  }
  const now = deps.now();
  const url = originalUrlOf(deps.cipher, flow);
  const status = effectiveStatus(flow, now);
  if (status !== 'PENDING') return { kind: 'gone', status };
  if (!url) return { kind: 'gone', status: 'EXPIRED' };
  if (flow.opened_at === null) await flowStore.markOpened(deps.store.db, flow.id, now);
  return { kind: 'redirect', url };
}
