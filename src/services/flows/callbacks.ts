import { AppError } from '../../errors.js';
import type { RawCallback } from '../../providers/provider.js';
import * as flowStore from '../../store/flow-store.js';
import type { ServiceDeps } from '../deps.js';
import { applyFlowResult } from './results.js';

export type CallbackOutcome = 'applied' | 'duplicate' | 'ignored';

/**
 * A result pushed by the provider. Nothing changes unless the provider verifies it on the raw
 * bytes. Results go through the same function as the sandbox and reconciliation, so a repeated
 * callback is harmless.
 */
export async function handleProviderCallback(deps: ServiceDeps, cb: RawCallback): Promise<CallbackOutcome> {
  const check = deps.provider.verifyCallback(cb, deps.now());
  if (check === null) throw new AppError('not_found');
  const log = deps.logger.child({ component: 'provider-callback', provider: deps.provider.name });
  if (check.kind === 'rejected') {
    log.warn({ reason: check.reason }, 'rejected provider callback');
    throw new AppError('unauthorized', {
      userMessage: '回调签名校验失败',
      detail: `callback rejected: ${check.reason}`,
    });
  }
  if (check.kind === 'ignored') {
    log.info({ action: check.action }, 'ignored provider callback action');
    return 'ignored';
  }
  const flow = await flowStore.findFlowByProviderId(deps.store.db, deps.provider.name, check.providerFlowId);
  if (!flow || (check.contextId !== null && check.contextId !== flow.id)) {
    log.warn({ providerFlowId: check.providerFlowId }, 'provider callback for an unknown flow');
    return 'ignored';
  }
  const accountId = check.accountId ?? flow.account_id;
  if (check.success && !accountId) {
    // A success we cannot attribute to an account must not read as a failure: leave the flow
    // pending and let reconciliation ask the provider for the details.
    log.warn({ flowId: flow.id }, 'success callback without an account id; left to reconciliation');
    return 'ignored';
  }
  const outcome =
    accountId && check.success
      ? ({ success: true, accountId } as const)
      : ({ success: false, reason: await askFailReason(deps, check.providerFlowId) } as const);
  const { changed } = await applyFlowResult(deps, flow.id, outcome);
  log.info({ flowId: flow.id, success: check.success, changed }, 'applied provider callback');
  return changed ? 'applied' : 'duplicate';
}

/** Said when the provider gives no reason of its own (or cannot be asked in time). */
const FAILED_WITHOUT_REASON = '人脸识别认证未通过';
/** e签宝 waits 5 s for the callback's answer: the reason is asked for within a part of that. */
const REASON_BUDGET_MS = 2000;

/**
 * A failure callback says only `success: false`; the reason (光线不足, 非本人…) is what the
 * vehicle owner's issuer needs to tell them, and the provider's query answers it.
 */
async function askFailReason(deps: ServiceDeps, providerFlowId: string): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(resolve, REASON_BUDGET_MS, null);
  });
  try {
    const asked = deps.provider.queryFlow(providerFlowId).catch(() => null);
    const result = await Promise.race([asked, late]);
    return result?.status === 'FAILED' && result.failReason ? result.failReason : FAILED_WITHOUT_REASON;
  } finally {
    clearTimeout(timer);
  }
}
