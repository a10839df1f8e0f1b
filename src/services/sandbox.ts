import { maskIdNumber, maskName } from '../domain/identity/index.js';
import { AppError } from '../errors.js';
import { SandboxProvider } from '../providers/sandbox.js';
import * as flows from '../store/flows.js';
import * as persons from '../store/persons.js';
import type { FlowRow } from '../store/schema.js';
import type { ServiceDeps } from './deps.js';
import { applyFlowResult, effectiveStatus, type PublicStatus } from './flows.js';
import { formatBeijing } from './time.js';

export interface SandboxPage {
  status: PublicStatus;
  maskedName: string;
  maskedIdNumber: string;
  expire: string;
}

function sandboxProvider(deps: ServiceDeps): SandboxProvider {
  if (!(deps.provider instanceof SandboxProvider))
    throw new AppError('not_found', { detail: 'sandbox is not enabled' });
  return deps.provider;
}

/** Sandbox page ids are `sbx_` + base62; anything else names no flow (and PostgreSQL refuses NUL bytes). */
const SANDBOX_ID = /^sbx_[0-9A-Za-z]{1,60}$/;

async function findSandboxFlow(deps: ServiceDeps, sandboxId: string): Promise<FlowRow | undefined> {
  sandboxProvider(deps);
  if (!SANDBOX_ID.test(sandboxId)) return undefined;
  return flows.findFlowByProviderId(deps.store.db, 'sandbox', sandboxId);
}

/** What the H5 page shows: masked identity only. Null when the link is unknown. */
export async function getSandboxPage(deps: ServiceDeps, sandboxId: string): Promise<SandboxPage | null> {
  const flow = await findSandboxFlow(deps, sandboxId);
  if (!flow) return null;
  const person = await persons.findPersonById(deps.store.db, flow.person_id);
  return {
    status: effectiveStatus(flow, deps.now()),
    maskedName: maskName(deps.cipher.decrypt(flow.name_enc)),
    maskedIdNumber: person ? maskIdNumber(deps.cipher.decrypt(person.id_number_enc)) : '',
    expire: flow.expire_at === null ? '' : formatBeijing(flow.expire_at),
  };
}

/** The person finished the sandbox page. Returns our flow id, for the result page. */
export async function submitSandboxPage(
  deps: ServiceDeps,
  sandboxId: string,
  result: { success: boolean; reason?: string },
): Promise<string | null> {
  const flow = await findSandboxFlow(deps, sandboxId);
  if (!flow) return null;
  await completeSandboxFlow(deps, flow.id, result);
  return flow.id;
}

/** `sandbox complete <flowId> [--fail reason]`, and the page's submit. */
export async function completeSandboxFlow(
  deps: ServiceDeps,
  flowId: string,
  result: { success: boolean; reason?: string },
) {
  const provider = sandboxProvider(deps);
  const flow = await flows.findFlowById(deps.store.db, flowId);
  if (flow?.provider !== 'sandbox') throw new AppError('not_found', { detail: `no sandbox flow ${flowId}` });
  if (effectiveStatus(flow, deps.now()) === 'EXPIRED') {
    throw new AppError('conflict', { userMessage: '认证链接已过期', detail: `flow ${flowId} has expired` });
  }
  return applyFlowResult(
    deps,
    flowId,
    result.success
      ? { success: true, accountId: provider.accountIdFor(flow.person_id) }
      : { success: false, reason: result.reason || '人脸比对未通过' },
  );
}
