import { AppError } from '../errors.js';
import { verifyEsignCallback } from '../providers/esign/callback.js';
import * as flows from '../store/flows.js';
import type { ServiceDeps } from './deps.js';
import { applyFlowResult } from './flows.js';

/** The action e签宝 uses for a finished personal face authentication. */
const FACE_RESULT_ACTION = 'identity_psn_end';

export interface RawCallback {
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
  query: Record<string, string>;
}

export type CallbackOutcome = 'applied' | 'duplicate' | 'ignored';

/**
 * A result pushed by e签宝. Nothing changes unless the signature, app id and timestamp verify on
 * the raw bytes. Results go through the same function as the sandbox and reconciliation, so a
 * repeated callback is harmless.
 */
export async function handleEsignCallback(deps: ServiceDeps, cb: RawCallback): Promise<CallbackOutcome> {
  const esign = deps.config.esign;
  if (!esign) throw new AppError('not_found');
  const verified = verifyEsignCallback({
    headers: cb.headers,
    rawBody: cb.rawBody,
    notifyUrlQuery: cb.query,
    appId: esign.appId,
    appSecret: esign.appSecret,
    now: deps.now(),
    windowMs: esign.callbackWindowMs,
  });
  const log = deps.logger.child({ component: 'esign-callback' });
  if (!verified.ok) {
    log.warn({ reason: verified.reason }, 'rejected e签宝 callback');
    throw new AppError('unauthorized', {
      userMessage: '回调签名校验失败',
      detail: `callback rejected: ${verified.reason}`,
    });
  }
  const event = verified.event;
  if (event.action !== null && event.action !== FACE_RESULT_ACTION) {
    log.info({ action: event.action }, 'ignored e签宝 callback action');
    return 'ignored';
  }
  const flow = await flows.findFlowByProviderId(deps.store.db, 'esign', event.flowId);
  if (!flow || (event.contextId !== null && event.contextId !== flow.id)) {
    log.warn({ providerFlowId: event.flowId }, 'e签宝 callback for an unknown flow');
    return 'ignored';
  }
  const accountId = event.accountId ?? flow.account_id;
  if (event.success && !accountId) {
    // A success we cannot attribute to an account must not read as a failure: leave the flow
    // pending and let reconciliation ask e签宝 for the details.
    log.warn({ flowId: flow.id }, 'e签宝 success callback without an account id; left to reconciliation');
    return 'ignored';
  }
  const outcome =
    accountId && event.success
      ? ({ success: true, accountId } as const)
      : ({ success: false, reason: '人脸识别认证未通过' } as const);
  const { changed } = await applyFlowResult(deps, flow.id, outcome);
  log.info({ flowId: flow.id, success: event.success, changed }, 'applied e签宝 callback');
  return changed ? 'applied' : 'duplicate';
}
