import { AppError } from '../../errors.js';
import type { SandboxControl } from '../../providers/provider.js';
import * as flowStore from '../../store/flow-store.js';
import type { FlowRow } from '../../store/schema.js';
import type { ServiceDeps } from '../deps.js';
import { recordPageConsent } from '../lifecycle/consent.js';
import { effectiveStatus, type FlowView, flowView } from './queries.js';
import { applyFlowResult } from './results.js';

/** What the sandbox H5 page shows: the flow's masked view. */
export type SandboxPage = Pick<FlowView, 'status' | 'expire' | 'person'>;

function sandboxControl(deps: ServiceDeps): SandboxControl {
  if (!deps.sandbox) throw new AppError('not_found', { detail: 'sandbox is not enabled' });
  return deps.sandbox;
}

/** Sandbox page ids are `sbx_` + base62; anything else names no flow (and PostgreSQL refuses NUL bytes). */
const SANDBOX_ID = /^sbx_[0-9A-Za-z]{1,60}$/;

async function findSandboxFlow(deps: ServiceDeps, sandboxId: string): Promise<FlowRow | undefined> {
  sandboxControl(deps);
  if (!SANDBOX_ID.test(sandboxId)) return undefined;
  return flowStore.findFlowByProviderId(deps.store.db, 'sandbox', sandboxId);
}

/** Null when the link is unknown. */
export async function getSandboxPage(deps: ServiceDeps, sandboxId: string): Promise<SandboxPage | null> {
  const flow = await findSandboxFlow(deps, sandboxId);
  if (!flow) return null;
  const { status, expire, person } = await flowView(deps, flow);
  return { status, expire, person };
}

/** The person finished the sandbox page. Returns our flow id, for the result page. */
export async function submitSandboxPage(
  deps: ServiceDeps,
  sandboxId: string,
  result: { success: boolean; reason?: string; consentVersion: string },
): Promise<string | null> {
  const flow = await findSandboxFlow(deps, sandboxId);
  if (!flow) return null;
  // The consent comes first: the result is applied only to a flow whose consent is on record.
  if (!(await recordPageConsent(deps, flow.id, result.consentVersion))) {
    throw new AppError('invalid', {
      userMessage: '页面已更新，请刷新后重新确认',
      detail: 'unknown consent version',
    });
  }
  await completeSandboxFlow(deps, flow.id, result);
  return flow.id;
}

/** `sandbox complete <flowId> [--fail reason]`, and the page's submit. */
export async function completeSandboxFlow(
  deps: ServiceDeps,
  flowId: string,
  result: { success: boolean; reason?: string },
) {
  const sandbox = sandboxControl(deps);
  const flow = await flowStore.findFlowById(deps.store.db, flowId);
  if (flow?.provider !== 'sandbox') throw new AppError('not_found', { detail: `no sandbox flow ${flowId}` });
  if (effectiveStatus(flow, deps.now()) === 'EXPIRED') {
    throw new AppError('conflict', { userMessage: '认证链接已过期', detail: `flow ${flowId} has expired` });
  }
  return applyFlowResult(
    deps,
    flowId,
    result.success
      ? { success: true, accountId: sandbox.accountIdFor(flow.person_id) }
      : { success: false, reason: result.reason || '人脸比对未通过' },
  );
}
