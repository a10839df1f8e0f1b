/**
 * The `esign` FaceProvider: binds each face flow to an e签宝 personal account and reads results
 * back. Answers are validated field by field and rebuilt from the fields we need, so photo/video
 * URLs that e签宝 includes never leave this file.
 */
import type { Logger } from 'pino';
import type { EsignConfig } from '../../config.js';
import { AppError } from '../../errors.js';
import type {
  CallbackCheck,
  FaceProvider,
  IdKind,
  ProviderFlowResult,
  ProviderPerson,
  ProviderReachability,
  RawCallback,
  StartFaceInput,
  StartFaceResult,
} from '../provider.js';
import { verifyEsignCallback } from './callback.js';
import { ESIGN_CODE, esignCodeError } from './error-codes.js';
import { createEsignClient, type EsignClient, type EsignResponse } from './request.js';

/** The action e签宝 uses for a finished personal face authentication. */
const FACE_RESULT_ACTION = 'identity_psn_end';

const ID_TYPES: Record<IdKind, string> = {
  CN: 'CRED_PSN_CH_IDCARD',
  HK: 'CRED_PSN_CH_HONGKONG',
  MO: 'CRED_PSN_CH_MACAO',
  TW: 'CRED_PSN_CH_TWCARD',
};

const ACCOUNT_ID = /^[0-9a-fA-F]{32}$/;
const FLOW_ID = /^\d{1,64}$/;
/** e签宝 reasons are short phrases; a cap keeps a misbehaving upstream from filling our store. */
const MAX_FAIL_REASON_CHARS = 200;

type Json = Record<string, unknown>;

export interface EsignProviderDeps {
  logger: Logger;
  /** Called when e签宝 reports the prepaid balance is exhausted (30503107), e.g. to alert operators. */
  onBalanceExhausted?: () => void;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * e签宝's links are https. The one exception is a link on the configured API origin itself when
 * that origin is plain http: only a local fake e签宝 is ever configured that way.
 */
function isFaceLink(value: unknown, apiOrigin: string): value is string {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && url.origin === apiOrigin);
  } catch {
    return false;
  }
}

function badAnswer(operation: string, userMessage: string, what: string): AppError {
  return new AppError('upstream_refused', { userMessage, detail: `esign ${operation} answered ${what}` });
}

function failReasonOf(value: unknown): string | null {
  if (typeof value !== 'string' || value.trim() === '') return null;
  return value.trim().slice(0, MAX_FAIL_REASON_CHARS);
}

export class EsignProvider implements FaceProvider {
  readonly name = 'esign' as const;
  private readonly client: EsignClient;
  private readonly log: Logger;

  constructor(
    private readonly cfg: EsignConfig,
    private readonly deps: EsignProviderDeps,
  ) {
    this.log = deps.logger.child({ component: 'esign-provider' });
    this.client = createEsignClient(cfg, deps.logger);
  }

  lastSeen(): ProviderReachability | null {
    return this.client.lastSeen();
  }

  async startFace(input: StartFaceInput): Promise<StartFaceResult> {
    const accountId = input.person.accountId ?? (await this.ensureAccount(input.person));
    const operation = 'face start';
    const answer = await this.client.request<Json>(
      'POST',
      `/v2/identity/auth/api/individual/${encodeURIComponent(accountId)}/face`,
      {
        faceauthMode: this.cfg.faceMode,
        repetition: false,
        callbackUrl: input.callbackUrl,
        contextId: input.flowId,
        notifyUrl: input.notifyUrl,
      },
    );
    if (answer.code === ESIGN_CODE.alreadyVerified) return { kind: 'already-verified', accountId };
    if (answer.code === ESIGN_CODE.balanceExhausted) {
      this.log.error({ code: answer.code }, 'esign prepaid balance exhausted: face flows cannot start');
      try {
        this.deps.onBalanceExhausted?.();
      } catch (err) {
        // The alert hook must not replace the error the caller needs to see.
        this.log.error({ err }, 'onBalanceExhausted hook threw');
      }
    }
    if (answer.code !== 0) throw esignCodeError(operation, answer);

    const data = answer.data;
    if (!isObject(data)) throw badAnswer(operation, '认证服务未返回认证链接', 'no data');
    const { flowId, originalUrl, authUrl, expire } = data;
    if (typeof flowId !== 'string' || !FLOW_ID.test(flowId)) {
      throw badAnswer(operation, '认证服务返回的认证流程编号无效', 'an invalid flowId');
    }
    const apiOrigin = new URL(this.cfg.baseUrl).origin;
    if (!isFaceLink(originalUrl, apiOrigin) || !isFaceLink(authUrl, apiOrigin)) {
      throw badAnswer(operation, '认证服务返回的认证链接无效', 'a link that is not an https URL');
    }
    if (typeof expire !== 'number' || !Number.isSafeInteger(expire) || expire <= Date.now()) {
      throw badAnswer(
        operation,
        '认证服务返回的链接有效期无效',
        'an expire that is not a future epoch-ms time',
      );
    }
    return { kind: 'started', providerFlowId: flowId, originalUrl, expireAt: new Date(expire), accountId };
  }

  /**
   * Reads `common/{flowId}/detail`, which alone carries the verified account id. When detail has
   * nothing yet (30503055: no face record — the person has not reached the face step), the public
   * face-status endpoint is asked instead, because only it tells "link opened" (SCAN) apart.
   * Other failures are thrown, not retried elsewhere: reconciliation polls again later anyway.
   */
  async queryFlow(providerFlowId: string): Promise<ProviderFlowResult> {
    const flowPath = encodeURIComponent(providerFlowId);
    const detail = await this.client.request<Json>('GET', `/v2/identity/auth/api/common/${flowPath}/detail`);
    if (detail.code === ESIGN_CODE.noFaceRecord) {
      const face = await this.client.request<Json>(
        'GET',
        `/v2/identity/auth/pub/individual/${flowPath}/face`,
      );
      return this.flowResult('face status', face, (data) => ({
        accountId:
          typeof data.accountId === 'string' && ACCOUNT_ID.test(data.accountId) ? data.accountId : null,
        failReason: failReasonOf(data.failedReason),
      }));
    }
    return this.flowResult('flow detail', detail, (data) => {
      const indiv = isObject(data.indivInfo) ? data.indivInfo : {};
      return {
        accountId:
          typeof indiv.accountId === 'string' && ACCOUNT_ID.test(indiv.accountId) ? indiv.accountId : null,
        failReason: failReasonOf(data.failReason),
      };
    });
  }

  close(): Promise<void> {
    return this.client.close();
  }

  private flowResult(
    operation: string,
    answer: EsignResponse<Json>,
    pick: (data: Json) => { accountId: string | null; failReason: string | null },
  ): ProviderFlowResult {
    if (answer.code !== 0) throw esignCodeError(operation, answer);
    const data = answer.data;
    if (!isObject(data) || typeof data.status !== 'string') {
      throw badAnswer(operation, '认证服务未返回认证状态', 'no status');
    }
    const { accountId, failReason } = pick(data);
    switch (data.status) {
      case 'SUCCESS':
        return { status: 'SUCCESS', accountId, failReason: null };
      case 'FAIL':
        return { status: 'FAILED', accountId: null, failReason: failReason ?? '认证未通过' };
      case 'SCAN':
        return { status: 'OPENED', accountId: null, failReason: null };
      default:
        // INIT, ING and any status e签宝 adds later all mean "not final yet".
        return { status: 'PENDING', accountId: null, failReason: null };
    }
  }

  private async ensureAccount(person: ProviderPerson): Promise<string> {
    const created = await this.client.request<Json>('POST', '/v1/accounts/createByThirdPartyUserId', {
      thirdPartyUserId: person.personKey,
      name: person.name,
      idType: ID_TYPES[person.idKind],
      idNumber: person.idNumber,
      mobile: person.mobile,
    });
    if (created.code === 0) return this.accountIdOf('account create', created);
    if (created.code !== ESIGN_CODE.accountExists) throw esignCodeError('account create', created);
    const found = await this.client.request<Json>(
      'GET',
      `/v1/accounts/getByThirdId?thirdPartyUserId=${encodeURIComponent(person.personKey)}`,
    );
    if (found.code !== 0) throw esignCodeError('account lookup', found);
    return this.accountIdOf('account lookup', found);
  }

  verifyCallback(callback: RawCallback, now: number): CallbackCheck {
    const verified = verifyEsignCallback({
      headers: callback.headers,
      rawBody: callback.rawBody,
      notifyUrlQuery: callback.query,
      appId: this.cfg.appId,
      appSecret: this.cfg.appSecret,
      now,
      windowMs: this.cfg.callbackWindowMs,
    });
    if (!verified.ok) return { kind: 'rejected', reason: verified.reason };
    const event = verified.event;
    if (event.action !== null && event.action !== FACE_RESULT_ACTION) {
      return { kind: 'ignored', action: event.action };
    }
    return {
      kind: 'result',
      providerFlowId: event.flowId,
      contextId: event.contextId,
      success: event.success,
      accountId: event.accountId,
    };
  }

  private accountIdOf(operation: string, answer: EsignResponse<Json>): string {
    const accountId = isObject(answer.data) ? answer.data.accountId : undefined;
    if (typeof accountId !== 'string' || !ACCOUNT_ID.test(accountId)) {
      throw badAnswer(operation, '认证服务返回的账号编号无效', 'an invalid accountId');
    }
    return accountId;
  }
}
