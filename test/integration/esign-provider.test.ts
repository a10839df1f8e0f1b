import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { request as undiciRequest } from 'undici';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EsignConfig } from '../../src/config.js';
import { AppError, type ErrorKind } from '../../src/errors.js';
import { runFakeEsignCommand } from '../../src/fake-esign/cli-entry.js';
import { type FakeEsign, startFakeEsign } from '../../src/fake-esign/server.js';
import { verifyEsignCallback } from '../../src/providers/esign/callback.js';
import { EsignProvider } from '../../src/providers/esign/esign-provider.js';
import {
  contentMd5,
  SIGNED_ACCEPT,
  SIGNED_CONTENT_TYPE,
  signRequest,
  stringToSign,
} from '../../src/providers/esign/signing.js';
import type { ProviderPerson, StartFaceInput } from '../../src/providers/provider.js';

const APP_ID = '7438000001';
const SECRET = 'fake-app-secret-for-tests';
const silent = pino({ level: 'silent' });

const PERSON: ProviderPerson = {
  personKey: 'pk_test_0001',
  name: '张三',
  idNumber: '11010519491231002X',
  mobile: '13800138000',
  idKind: 'CN',
  accountId: null,
};
const NOTIFY_URL = 'https://gateway.example.com/esign/callbacks/esign';
const CALLBACK_URL = 'https://gateway.example.com/h5/result/flow_0001';
const START: StartFaceInput = {
  flowId: 'flow_0001',
  person: PERSON,
  notifyUrl: NOTIFY_URL,
  callbackUrl: CALLBACK_URL,
};

const ACCOUNT_PATH = '/v1/accounts/createByThirdPartyUserId';
const facePath = (accountId: string) => `/v2/identity/auth/api/individual/${accountId}/face`;
const detailPath = (flowId: string) => `/v2/identity/auth/api/common/${flowId}/detail`;
const faceStatusPath = (flowId: string) => `/v2/identity/auth/pub/individual/${flowId}/face`;
const verified = (method: string, path: string) => ({ method, path, verified: true, rejection: null });

function config(baseUrl: string, overrides: Partial<EsignConfig> = {}): EsignConfig {
  return {
    baseUrl,
    appId: APP_ID,
    appSecret: SECRET,
    faceMode: 'ZHIMACREDIT',
    connectTimeoutMs: 1000,
    requestTimeoutMs: 2000,
    maxConnections: 16,
    callbackWindowMs: 15 * 60_000,
    circuitFailures: 5,
    circuitOpenMs: 30_000,
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

async function expectAppError(
  promise: Promise<unknown>,
  kind: ErrorKind,
  userMessage: string,
): Promise<AppError> {
  const err = await rejection(promise);
  expect({ kind: err.kind, userMessage: err.userMessage }).toEqual({ kind, userMessage });
  return err;
}

let fake: FakeEsign;
let provider: EsignProvider;
let onBalanceExhausted: ReturnType<typeof vi.fn<() => void>>;
const cleanups: Array<() => Promise<void>> = [];

beforeEach(async () => {
  fake = await startFakeEsign({ appId: APP_ID, appSecret: SECRET, logger: silent });
  onBalanceExhausted = vi.fn<() => void>();
  provider = new EsignProvider(config(fake.baseUrl), { logger: silent, onBalanceExhausted });
});

afterEach(async () => {
  await fake.close();
  await provider.close();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function onlyFlow() {
  const flows = [...fake.flows.values()];
  expect(flows).toHaveLength(1);
  return flows[0] as NonNullable<(typeof flows)[0]>;
}

/** Starts one normal flow and returns the account e签宝 created for the test person. */
async function startedAccountId(): Promise<string> {
  const result = await provider.startFace(START);
  if (result.kind !== 'started' || result.accountId === null) throw new Error('expected a started flow');
  return result.accountId;
}

describe('EsignProvider.startFace against the fake e签宝', () => {
  it('creates the account, then the flow, and returns e签宝 answers unchanged', async () => {
    const result = await provider.startFace(START);

    const account = fake.accounts.get('pk_test_0001');
    expect(account).toEqual({
      accountId: expect.stringMatching(/^[0-9a-f]{32}$/),
      thirdPartyUserId: 'pk_test_0001',
      name: '张三',
      idType: 'CRED_PSN_CH_IDCARD',
      idNumber: '11010519491231002X',
      mobile: '13800138000',
    });
    const accountId = account?.accountId ?? '';
    const flow = onlyFlow();
    expect(flow).toEqual({
      flowId: expect.stringMatching(/^\d{19}$/),
      accountId,
      faceauthMode: 'ZHIMACREDIT',
      repetition: false,
      contextId: 'flow_0001',
      notifyUrl: NOTIFY_URL,
      callbackUrl: CALLBACK_URL,
      originalUrl: `${fake.baseUrl}/identity/face/${flow.pageToken}`,
      pageToken: expect.stringMatching(/^[\w-]{24}$/),
      authUrl: expect.stringMatching(new RegExp(`^${fake.baseUrl}/t/[\\w-]{8}$`)),
      expire: expect.any(Number),
      status: 'INIT',
      failReason: null,
    });
    expect(result).toEqual({
      kind: 'started',
      providerFlowId: flow.flowId,
      originalUrl: flow.originalUrl,
      expireAt: new Date(flow.expire),
      accountId,
    });
    expect(flow.expire - Date.now()).toBeGreaterThan(23 * 3600_000 - 60_000);
    expect(fake.requests).toEqual([verified('POST', ACCOUNT_PATH), verified('POST', facePath(accountId))]);
  });

  it.each([
    ['HK', '810000198001010014', 'CRED_PSN_CH_HONGKONG'],
    ['MO', '820000198001010016', 'CRED_PSN_CH_MACAO'],
    ['TW', '830000198001010018', 'CRED_PSN_CH_TWCARD'],
  ] as const)('sends idType for %s residence permits', async (idKind, idNumber, idType) => {
    await provider.startFace({ ...START, person: { ...PERSON, idKind, idNumber } });
    expect(fake.accounts.get('pk_test_0001')?.idType).toBe(idType);
  });

  it('uses the configured face mode', async () => {
    const esignFace = new EsignProvider(config(fake.baseUrl, { faceMode: 'ESIGN' }), { logger: silent });
    cleanups.push(() => esignFace.close());
    await esignFace.startFace(START);
    expect(onlyFlow().faceauthMode).toBe('ESIGN');
  });

  it('finds an existing account by third-party id when creation answers 53000000', async () => {
    const accountId = await startedAccountId();
    fake.requests.length = 0;

    const result = await provider.startFace({ ...START, flowId: 'flow_0002' });

    expect(result).toMatchObject({ kind: 'started', accountId });
    expect(fake.requests).toEqual([
      verified('POST', ACCOUNT_PATH),
      verified('GET', '/v1/accounts/getByThirdId'),
      verified('POST', facePath(accountId)),
    ]);
  });

  it('skips account creation when the account is already known', async () => {
    const accountId = await startedAccountId();
    fake.requests.length = 0;

    const result = await provider.startFace({ ...START, person: { ...PERSON, accountId } });

    expect(result).toMatchObject({ kind: 'started', accountId });
    expect(fake.requests).toEqual([verified('POST', facePath(accountId))]);
  });

  it('answers already-verified when e签宝 refuses a repeat verification (30500152)', async () => {
    const accountId = await startedAccountId();
    fake.completeFlow(onlyFlow().flowId, { success: true });

    const result = await provider.startFace({ ...START, person: { ...PERSON, accountId } });

    expect(result).toEqual({ kind: 'already-verified', accountId });
    expect(fake.flows.size).toBe(1);
  });

  it('treats a scripted 30500152 the same way', async () => {
    fake.script.once('face', { kind: 'already-verified' });
    const result = await provider.startFace(START);
    expect(result).toEqual({
      kind: 'already-verified',
      accountId: fake.accounts.get('pk_test_0001')?.accountId,
    });
  });

  it('refuses and alerts once when the prepaid balance is exhausted (30503107)', async () => {
    fake.script.once('face', { kind: 'error', code: 30503107, message: '余额不足' });
    const err = await expectAppError(
      provider.startFace(START),
      'upstream_refused',
      '认证服务余额不足，请联系运营人员',
    );
    expect(err.message).toBe('esign face start answered code 30503107 (HTTP 200)');
    expect(onBalanceExhausted).toHaveBeenCalledTimes(1);
  });

  it('still refuses when the balance alert hook throws', async () => {
    onBalanceExhausted.mockImplementation(() => {
      throw new Error('alerting is down');
    });
    fake.script.once('face', { kind: 'error', code: 30503107 });
    await expectAppError(provider.startFace(START), 'upstream_refused', '认证服务余额不足，请联系运营人员');
  });

  it.each([
    [30500100, '认证服务提示缺少必要参数'],
    [30500101, '认证服务认为提交的信息有误，请核对后重试'],
    [30500052, '该用户认证次数过多，请稍后再试'],
    [30500003, '认证流程已过期，请重新发起认证'],
    [30500004, '认证流程不存在'],
    [30503055, '该认证流程尚无刷脸记录'],
    [53000000, '认证服务中该用户账号已存在'],
    [53000001, '认证服务中不存在该用户账号'],
    [12345, '认证服务返回错误（错误码 12345）'],
  ])('maps face-start code %i to refused "%s"', async (code, userMessage) => {
    fake.script.once('face', { kind: 'error', code, message: 'scripted' });
    const err = await expectAppError(provider.startFace(START), 'upstream_refused', userMessage);
    expect(err.message).toBe(`esign face start answered code ${code} (HTTP 200)`);
    expect(onBalanceExhausted).not.toHaveBeenCalled();
  });

  it.each([
    ['INVALID_SIGNATURE', 'INVALID_SIGNATURE'],
    ['INVALID_TIMESTAMP', 'INVALID_TIMESTAMP'],
    ['无效的应用', 'INVALID_APP'],
    ['SOMETHING_ELSE', 'other'],
  ])('maps a gateway 401 "%s" to refused', async (message, logged) => {
    fake.script.once('createAccount', { kind: 'error', code: 401, message, status: 401 });
    const err = await expectAppError(
      provider.startFace(START),
      'upstream_refused',
      '认证服务拒绝了本系统的接入凭证，请联系运营人员',
    );
    expect(err.message).toBe(`esign account create answered code 401 ${logged} (HTTP 401)`);
  });

  it('maps a real gateway refusal (wrong secret) to refused', async () => {
    const wrongSecret = new EsignProvider(config(fake.baseUrl, { appSecret: 'not-the-secret' }), {
      logger: silent,
    });
    cleanups.push(() => wrongSecret.close());
    const err = await expectAppError(
      wrongSecret.startFace(START),
      'upstream_refused',
      '认证服务拒绝了本系统的接入凭证，请联系运营人员',
    );
    expect(err.message).toBe('esign account create answered code 401 INVALID_SIGNATURE (HTTP 401)');
  });

  it('maps account lookup failures (53000001) to refused', async () => {
    await startedAccountId();
    fake.script.once('getAccount', { kind: 'error', code: 53000001, message: '账号不存在' });
    await expectAppError(provider.startFace(START), 'upstream_refused', '认证服务中不存在该用户账号');
  });

  it('refuses a known account that e签宝 does not have', async () => {
    const person = { ...PERSON, accountId: '0123456789abcdef0123456789abcdef' };
    await expectAppError(
      provider.startFace({ ...START, person }),
      'upstream_refused',
      '认证服务中不存在该用户账号',
    );
  });

  it('refuses when account creation answers without a valid account id', async () => {
    fake.script.once('createAccount', { kind: 'patch', data: { accountId: 'not-hex' } });
    await expectAppError(provider.startFace(START), 'upstream_refused', '认证服务返回的账号编号无效');
  });

  describe('HTTP-level failures', () => {
    it('maps HTTP 5xx without an envelope to unavailable', async () => {
      fake.script.once('face', { kind: 'http', status: 502, body: '<html>Bad Gateway</html>' });
      const err = await expectAppError(
        provider.startFace(START),
        'upstream_unavailable',
        '认证服务暂不可用，请稍后重试',
      );
      expect(err.message).toBe(
        `esign POST ${facePath(fake.accounts.get('pk_test_0001')?.accountId ?? '')} answered HTTP 502 with no JSON envelope`,
      );
    });

    it('maps HTTP 5xx with an unknown code to unavailable', async () => {
      fake.script.once('face', { kind: 'error', code: 500, message: 'Internal Server Error', status: 500 });
      await expectAppError(
        provider.startFace(START),
        'upstream_unavailable',
        '认证服务暂不可用，请稍后重试（错误码 500）',
      );
    });

    it('maps HTTP 5xx with a known code as that code', async () => {
      fake.script.once('face', { kind: 'error', code: 30503107, status: 503 });
      await expectAppError(provider.startFace(START), 'upstream_refused', '认证服务余额不足，请联系运营人员');
      expect(onBalanceExhausted).toHaveBeenCalledTimes(1);
    });

    it('maps HTTP 5xx claiming code 0 to unavailable', async () => {
      fake.script.once('face', {
        kind: 'http',
        status: 500,
        body: '{"code":0,"message":"成功"}',
        contentType: 'application/json',
      });
      await expectAppError(provider.startFace(START), 'upstream_unavailable', '认证服务暂不可用，请稍后重试');
    });

    it('maps HTTP 4xx without an envelope to refused', async () => {
      fake.script.once('face', { kind: 'http', status: 404, body: 'Not Found' });
      await expectAppError(provider.startFace(START), 'upstream_refused', '认证服务返回了无法识别的应答');
    });

    it('maps malformed JSON to refused', async () => {
      fake.script.once('face', { kind: 'malformed' });
      await expectAppError(provider.startFace(START), 'upstream_refused', '认证服务返回了无法识别的应答');
    });

    it('maps JSON without a numeric code to refused', async () => {
      fake.script.once('face', {
        kind: 'http',
        status: 200,
        body: '{"code":"0","message":"成功","data":{}}',
        contentType: 'application/json',
      });
      await expectAppError(provider.startFace(START), 'upstream_refused', '认证服务返回了无法识别的应答');
    });
  });

  describe('strict validation of the face answer', () => {
    const inAnHour = () => Date.now() + 3600_000;
    it.each([
      [
        'an http originalUrl',
        () => ({ originalUrl: 'http://smlh5.esign.cn/identity/face/abc' }),
        '认证服务返回的认证链接无效',
      ],
      ['an http authUrl', () => ({ authUrl: 'http://smlt.esign.cn/abc' }), '认证服务返回的认证链接无效'],
      ['a non-URL originalUrl', () => ({ originalUrl: 'smlh5.esign.cn/face' }), '认证服务返回的认证链接无效'],
      ['a missing authUrl', () => ({ authUrl: null }), '认证服务返回的认证链接无效'],
      ['a past expire', () => ({ expire: Date.now() - 1000 }), '认证服务返回的链接有效期无效'],
      [
        'an expire in seconds',
        () => ({ expire: Math.floor(inAnHour() / 1000) }),
        '认证服务返回的链接有效期无效',
      ],
      ['an expire as a string', () => ({ expire: String(inAnHour()) }), '认证服务返回的链接有效期无效'],
      ['a non-numeric flowId', () => ({ flowId: 'abc123' }), '认证服务返回的认证流程编号无效'],
      ['a numeric (not string) flowId', () => ({ flowId: 3123 }), '认证服务返回的认证流程编号无效'],
    ])('refuses %s', async (_what, data, userMessage) => {
      fake.script.once('face', { kind: 'patch', data: data() });
      await expectAppError(provider.startFace(START), 'upstream_refused', userMessage);
    });

    it('refuses code 0 without data', async () => {
      fake.script.once('face', {
        kind: 'http',
        status: 200,
        body: '{"code":0,"message":"成功","data":null}',
        contentType: 'application/json',
      });
      await expectAppError(provider.startFace(START), 'upstream_refused', '认证服务未返回认证链接');
    });
  });

  describe('timeouts and connection failures', () => {
    it('times out a hanging face start and sends it exactly once', async () => {
      const impatient = new EsignProvider(config(fake.baseUrl, { requestTimeoutMs: 300 }), {
        logger: silent,
      });
      cleanups.push(() => impatient.close());
      fake.script.always('face', { kind: 'hang' });

      const err = await expectAppError(
        impatient.startFace(START),
        'upstream_timeout',
        '认证服务响应超时，请稍后重试',
      );
      expect(err.message).toMatch(/timed out after sending \((TimeoutError|UND_ERR_HEADERS_TIMEOUT)\)/);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(fake.faceCalls).toBe(1);
      expect(fake.flows.size).toBe(0);
    });

    it('times out an answer slower than the budget', async () => {
      const impatient = new EsignProvider(config(fake.baseUrl, { requestTimeoutMs: 300 }), {
        logger: silent,
      });
      cleanups.push(() => impatient.close());
      fake.script.once('face', { kind: 'slow', ms: 800 });
      await expectAppError(impatient.startFace(START), 'upstream_timeout', '认证服务响应超时，请稍后重试');
      expect(fake.faceCalls).toBe(1);
    });

    it('waits for an answer within the budget', async () => {
      fake.script.once('face', { kind: 'slow', ms: 100 });
      fake.latencyMs = 50;
      expect((await provider.startFace(START)).kind).toBe('started');
    });

    it('applies the fake latency to every answer', async () => {
      const impatient = new EsignProvider(config(fake.baseUrl, { requestTimeoutMs: 200 }), {
        logger: silent,
      });
      cleanups.push(() => impatient.close());
      fake.latencyMs = 400;
      await expectAppError(impatient.startFace(START), 'upstream_timeout', '认证服务响应超时，请稍后重试');
    });

    it('maps a refused connection to unavailable', async () => {
      const probe = http.createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const { port } = probe.address() as AddressInfo;
      await new Promise((resolve) => probe.close(resolve));
      const offline = new EsignProvider(config(`http://127.0.0.1:${port}`), { logger: silent });
      cleanups.push(() => offline.close());

      const err = await expectAppError(
        offline.startFace(START),
        'upstream_unavailable',
        '认证服务暂不可用，请稍后重试',
      );
      expect(err.message).toBe(`esign POST ${ACCOUNT_PATH} could not be reached (ECONNREFUSED)`);
    });

    it('maps a reset connection to unavailable', async () => {
      const resetting = http.createServer((req) => req.socket.destroy());
      await new Promise<void>((resolve) => resetting.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise((resolve) => resetting.close(() => resolve())));
      const { port } = resetting.address() as AddressInfo;
      const flaky = new EsignProvider(config(`http://127.0.0.1:${port}`), { logger: silent });
      cleanups.push(() => flaky.close());

      const err = await expectAppError(
        flaky.startFace(START),
        'upstream_unavailable',
        '认证服务暂不可用，请稍后重试',
      );
      expect(err.message).toMatch(/could not be reached \((UND_ERR_SOCKET|ECONNRESET)\)$/);
    });

    it('refuses a base URL with a path, since it would break every signature', () => {
      expect(() => new EsignProvider(config(`${fake.baseUrl}/esign`), { logger: silent })).toThrow(
        'esign baseUrl must be an origin without path, query or fragment',
      );
    });
  });
});

describe('EsignProvider.queryFlow against the fake e签宝', () => {
  async function startedFlowId(): Promise<string> {
    const result = await provider.startFace(START);
    if (result.kind !== 'started') throw new Error('expected a started flow');
    fake.requests.length = 0;
    return result.providerFlowId;
  }

  it('reports a fresh flow (INIT) as pending', async () => {
    const flowId = await startedFlowId();
    expect(await provider.queryFlow(flowId)).toEqual({
      status: 'PENDING',
      accountId: null,
      failReason: null,
    });
    expect(fake.requests).toEqual([verified('GET', detailPath(flowId))]);
  });

  it('reports an opened flow (detail ING) as pending', async () => {
    const flowId = await startedFlowId();
    fake.openFlow(flowId);
    expect(await provider.queryFlow(flowId)).toEqual({
      status: 'PENDING',
      accountId: null,
      failReason: null,
    });
  });

  it('asks the face-status endpoint when detail has no face record, and reports SCAN as opened', async () => {
    const flowId = await startedFlowId();
    fake.openFlow(flowId);
    fake.script.once('detail', { kind: 'error', code: 30503055, message: '无刷脸记录' });
    expect(await provider.queryFlow(flowId)).toEqual({ status: 'OPENED', accountId: null, failReason: null });
    expect(fake.requests).toEqual([
      verified('GET', detailPath(flowId)),
      verified('GET', faceStatusPath(flowId)),
    ]);
  });

  it('reports a not-yet-opened flow on the face-status endpoint (ING) as pending', async () => {
    const flowId = await startedFlowId();
    fake.script.once('detail', { kind: 'error', code: 30503055 });
    expect(await provider.queryFlow(flowId)).toEqual({
      status: 'PENDING',
      accountId: null,
      failReason: null,
    });
  });

  it('reports success with the account id and drops photo and video links', async () => {
    const flowId = await startedFlowId();
    fake.completeFlow(flowId, { success: true });
    const accountId = fake.accounts.get('pk_test_0001')?.accountId;

    const result = await provider.queryFlow(flowId);

    expect(result).toEqual({ status: 'SUCCESS', accountId, failReason: null });
    const serialized = JSON.stringify(result);
    expect(serialized).not.toContain('esignoss');
    expect(serialized).not.toContain('http');
  });

  it('reports failure with e签宝 reason', async () => {
    const flowId = await startedFlowId();
    fake.completeFlow(flowId, { success: false, failReason: '非本人操作' });
    expect(await provider.queryFlow(flowId)).toEqual({
      status: 'FAILED',
      accountId: null,
      failReason: '非本人操作',
    });
  });

  it('reports failure on the face-status endpoint too', async () => {
    const flowId = await startedFlowId();
    fake.completeFlow(flowId, { success: false, failReason: '姓名与身份证号不一致' });
    fake.script.once('detail', { kind: 'error', code: 30503055 });
    expect(await provider.queryFlow(flowId)).toEqual({
      status: 'FAILED',
      accountId: null,
      failReason: '姓名与身份证号不一致',
    });
  });

  it('uses a plain reason when e签宝 gives none for a failure', async () => {
    const flowId = await startedFlowId();
    fake.completeFlow(flowId, { success: false });
    fake.script.once('detail', { kind: 'patch', data: { failReason: null } });
    expect(await provider.queryFlow(flowId)).toEqual({
      status: 'FAILED',
      accountId: null,
      failReason: '认证未通过',
    });
  });

  it('treats an unknown status as not final', async () => {
    const flowId = await startedFlowId();
    fake.script.once('detail', { kind: 'patch', data: { status: 'REVIEWING' } });
    expect(await provider.queryFlow(flowId)).toEqual({
      status: 'PENDING',
      accountId: null,
      failReason: null,
    });
  });

  it('refuses an answer without status', async () => {
    const flowId = await startedFlowId();
    fake.script.once('detail', { kind: 'patch', data: { status: null } });
    await expectAppError(provider.queryFlow(flowId), 'upstream_refused', '认证服务未返回认证状态');
  });

  it('maps an unknown flow (30500004) to refused', async () => {
    await expectAppError(provider.queryFlow('3000000000000000001'), 'upstream_refused', '认证流程不存在');
  });
});

describe('the fake e签宝 gateway rejects requests signed any other way', () => {
  const body = Buffer.from(
    JSON.stringify({
      thirdPartyUserId: 'pk_raw_0001',
      name: '张三',
      idType: 'CRED_PSN_CH_IDCARD',
      idNumber: '11010519491231002X',
      mobile: '13800138000',
    }),
    'utf8',
  );

  interface RawOptions {
    method?: 'GET' | 'POST';
    path?: string;
    sent?: Buffer | null;
    signedBody?: Buffer | null;
    secret?: string;
    signedPath?: string;
    signedAccept?: string;
    signedContentType?: string;
    headers?: Record<string, string | string[] | undefined>;
  }

  /** Signs with the project's signing functions, then lets one thing deviate. */
  async function raw(opts: RawOptions = {}) {
    const method = opts.method ?? 'POST';
    const path = opts.path ?? ACCOUNT_PATH;
    const sent = opts.sent === undefined ? (method === 'POST' ? body : null) : opts.sent;
    const signedBody = opts.signedBody === undefined ? sent : opts.signedBody;
    const md5 = signedBody ? contentMd5(signedBody) : '';
    const accept = opts.signedAccept ?? SIGNED_ACCEPT;
    const contentType = opts.signedContentType ?? SIGNED_CONTENT_TYPE;
    const signature = signRequest(
      opts.secret ?? SECRET,
      stringToSign({ method, accept, contentMd5: md5, contentType, pathWithQuery: opts.signedPath ?? path }),
    );
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries({
      'X-Tsign-Open-App-Id': APP_ID,
      'X-Tsign-Open-Auth-Mode': 'Signature',
      'X-Tsign-Open-Ca-Timestamp': String(Date.now()),
      'X-Tsign-Open-Ca-Signature': signature,
      'Content-MD5': md5,
      'Content-Type': contentType,
      Accept: accept,
      ...opts.headers,
    })) {
      if (value !== undefined) headers[name] = value;
    }
    const res = await undiciRequest(`${fake.baseUrl}${path}`, { method, headers, body: sent });
    return { status: res.statusCode, body: await res.body.text() };
  }

  const invalidSignature = { status: 401, body: '{"code":401,"message":"INVALID_SIGNATURE"}' };
  const invalidTimestamp = { status: 401, body: '{"code":401,"message":"INVALID_TIMESTAMP"}' };
  const invalidApp = { status: 401, body: '{"code":401,"message":"无效的应用"}' };

  function lastRejection() {
    const last = fake.requests.at(-1);
    expect(last?.verified).toBe(false);
    return last?.rejection;
  }

  it('accepts the correctly signed baseline POST and GET', async () => {
    const created = await raw();
    expect(created.status).toBe(200);
    expect(JSON.parse(created.body)).toEqual({
      code: 0,
      message: '成功',
      data: { accountId: expect.stringMatching(/^[0-9a-f]{32}$/) },
    });
    const found = await raw({
      method: 'GET',
      path: '/v1/accounts/getByThirdId?thirdPartyUserId=pk_raw_0001',
    });
    expect(found.status).toBe(200);
    expect(JSON.parse(found.body)).toMatchObject({ code: 0, data: { thirdPartyUserId: 'pk_raw_0001' } });
    expect(fake.requests.every((r) => r.verified)).toBe(true);
  });

  it('rejects a wrong secret', async () => {
    expect(await raw({ secret: 'another-secret' })).toEqual(invalidSignature);
    expect(lastRejection()).toBe('signature mismatch');
  });

  it('rejects body bytes that differ from the signed Content-MD5', async () => {
    const reserialized = Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8')), null, 1), 'utf8');
    expect(await raw({ sent: reserialized, signedBody: body })).toEqual(invalidSignature);
    expect(lastRejection()).toBe('content-md5 mismatch');
  });

  it('rejects a body whose MD5 matches but whose signature covered another MD5', async () => {
    const other = Buffer.from('{}', 'utf8');
    expect(await raw({ signedBody: other, headers: { 'Content-MD5': contentMd5(body) } })).toEqual(
      invalidSignature,
    );
    expect(lastRejection()).toBe('signature mismatch');
  });

  it('rejects an extra Content-Type header', async () => {
    expect(await raw({ headers: { 'Content-Type': [SIGNED_CONTENT_TYPE, 'text/plain'] } })).toEqual(
      invalidSignature,
    );
    expect(lastRejection()).toBe('content-type');
  });

  it.each(['application/json', 'application/json;charset=UTF-8', 'application/json; charset=utf-8'])(
    'rejects Content-Type "%s" even when signed consistently',
    async (contentType) => {
      expect(await raw({ signedContentType: contentType })).toEqual(invalidSignature);
      expect(lastRejection()).toBe('content-type');
    },
  );

  it('rejects Content-Type sent differently from the signed one', async () => {
    expect(await raw({ signedContentType: 'application/json' })).toEqual(invalidSignature);
    expect(await raw({ headers: { 'Content-Type': 'application/json' } })).toEqual(invalidSignature);
  });

  it('rejects a wrong Accept, signed or not', async () => {
    expect(await raw({ headers: { Accept: 'application/json' } })).toEqual(invalidSignature);
    expect(lastRejection()).toBe('accept');
    expect(await raw({ signedAccept: 'application/json' })).toEqual(invalidSignature);
    expect(lastRejection()).toBe('accept');
  });

  it('rejects a timestamp in seconds, an old one and a future one', async () => {
    const seconds = String(Math.floor(Date.now() / 1000));
    expect(await raw({ headers: { 'X-Tsign-Open-Ca-Timestamp': seconds } })).toEqual(invalidTimestamp);
    const old = String(Date.now() - 16 * 60_000);
    expect(await raw({ headers: { 'X-Tsign-Open-Ca-Timestamp': old } })).toEqual(invalidTimestamp);
    const future = String(Date.now() + 16 * 60_000);
    expect(await raw({ headers: { 'X-Tsign-Open-Ca-Timestamp': future } })).toEqual(invalidTimestamp);
    expect(lastRejection()).toBe('timestamp');
  });

  it.each([
    ['X-Tsign-Open-App-Id', invalidApp, 'app id'],
    ['X-Tsign-Open-Auth-Mode', invalidSignature, 'auth mode'],
    ['X-Tsign-Open-Ca-Timestamp', invalidTimestamp, 'timestamp'],
    ['X-Tsign-Open-Ca-Signature', invalidSignature, 'signature missing'],
    ['Content-MD5', invalidSignature, 'content-md5 mismatch'],
    ['Content-Type', invalidSignature, 'content-type'],
    ['Accept', invalidSignature, 'accept'],
  ])('rejects a request without %s', async (name, expected, reason) => {
    expect(await raw({ headers: { [name]: undefined } })).toEqual(expected);
    expect(lastRejection()).toBe(reason);
  });

  it('rejects a wrong app id and another auth mode', async () => {
    expect(await raw({ headers: { 'X-Tsign-Open-App-Id': '7438000002' } })).toEqual(invalidApp);
    expect(await raw({ headers: { 'X-Tsign-Open-Auth-Mode': 'token' } })).toEqual(invalidSignature);
  });

  it('rejects a hex signature of the right HMAC', async () => {
    const toSign = stringToSign({
      method: 'POST',
      accept: SIGNED_ACCEPT,
      contentMd5: contentMd5(body),
      contentType: SIGNED_CONTENT_TYPE,
      pathWithQuery: ACCOUNT_PATH,
    });
    const hex = Buffer.from(signRequest(SECRET, toSign), 'base64').toString('hex');
    expect(await raw({ headers: { 'X-Tsign-Open-Ca-Signature': hex } })).toEqual(invalidSignature);
  });

  it('rejects a GET carrying a Content-MD5 or a body', async () => {
    const path = '/v1/accounts/getByThirdId?thirdPartyUserId=pk_raw_0001';
    expect(await raw({ method: 'GET', path, signedBody: Buffer.from('{}') })).toEqual(invalidSignature);
    expect(lastRejection()).toBe('GET with body or content-md5');
  });

  it('rejects a query signed in the order sent instead of sorted', async () => {
    const path = '/v1/accounts/getByThirdId?thirdPartyUserId=pk_raw_0001&appendix=1';
    const unsorted = stringToSign({
      method: 'GET',
      accept: SIGNED_ACCEPT,
      contentMd5: '',
      contentType: SIGNED_CONTENT_TYPE,
      pathWithQuery: '/v1/accounts/getByThirdId',
    }).replace(/\/v1\/accounts\/getByThirdId$/, path);
    expect(
      await raw({
        method: 'GET',
        path,
        headers: { 'X-Tsign-Open-Ca-Signature': signRequest(SECRET, unsorted) },
      }),
    ).toEqual(invalidSignature);
    expect((await raw({ method: 'GET', path })).status).toBe(200);
  });

  it('answers 30500100 for a missing parameter, like e签宝', async () => {
    const withoutName = Buffer.from(
      JSON.stringify({ thirdPartyUserId: 'pk_raw_0002', idNumber: '11010519491231002X' }),
    );
    const answer = await raw({ sent: withoutName });
    expect(answer).toEqual({ status: 200, body: '{"code":30500100,"message":"缺少参数: name","data":null}' });
  });

  it('answers 30500101 for an ID number with a bad checksum', async () => {
    const badId = Buffer.from(
      JSON.stringify({ thirdPartyUserId: 'pk_raw_0003', name: '张三', idNumber: '110105194912310021' }),
    );
    expect(await raw({ sent: badId })).toEqual({
      status: 200,
      body: '{"code":30500101,"message":"参数错误: idNumber","data":null}',
    });
  });
});

describe('callbacks from the fake e签宝', () => {
  async function callbackReceiver(query: Record<string, string>) {
    const received: Array<ReturnType<typeof verifyEsignCallback>> = [];
    const receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const result = verifyEsignCallback({
          headers: req.headers,
          rawBody: Buffer.concat(chunks),
          notifyUrlQuery: query,
          appId: APP_ID,
          appSecret: SECRET,
          now: Date.now(),
          windowMs: 5 * 60_000,
        });
        received.push(result);
        res.writeHead(result.ok ? 200 : 401, { 'Content-Type': 'application/json' });
        res.end(result.ok ? '{"code":"200","msg":"success"}' : '{"code":"401"}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => receiver.close(() => resolve())));
    const search = new URLSearchParams(query).toString();
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/esign/callbacks/esign?${search}`;
    return { url, received };
  }

  async function completedFlow(notifyUrl: string) {
    const result = await provider.startFace({ ...START, notifyUrl });
    if (result.kind !== 'started') throw new Error('expected a started flow');
    fake.completeFlow(result.providerFlowId, { success: true });
    return result;
  }

  it('sends a correctly signed callback that verifyEsignCallback accepts', async () => {
    const { url, received } = await callbackReceiver({ tenant: 't1', client: 'c1' });
    const started = await completedFlow(url);

    expect(await fake.sendCallback(started.providerFlowId)).toBe(200);
    expect(received).toEqual([
      {
        ok: true,
        event: {
          flowId: started.providerFlowId,
          accountId: started.accountId,
          success: true,
          contextId: 'flow_0001',
          action: 'identity_psn_end',
        },
      },
    ]);
  });

  it.each([
    [{ secret: 'another-secret' }, 'signature_mismatch'],
    [{ signature: 'ab'.repeat(32) }, 'signature_mismatch'],
    [{ tamperedBody: '{"flowId":"1","success":true}' }, 'signature_mismatch'],
    [{ appId: '7438000002' }, 'app_id_mismatch'],
    [{ timestamp: Date.now() - 10 * 60_000 }, 'timestamp_outside_window'],
    [{ algorithm: 'hmac-sha1' }, 'algorithm_unsupported'],
  ])('lets a test tamper with the callback (%o)', async (opts, reason) => {
    const { url, received } = await callbackReceiver({ tenant: 't1' });
    const started = await completedFlow(url);
    expect(await fake.sendCallback(started.providerFlowId, opts)).toBe(401);
    expect(received).toEqual([{ ok: false, reason }]);
  });

  it('refuses to send a callback for a flow that is not complete', async () => {
    const result = await provider.startFace(START);
    if (result.kind !== 'started') throw new Error('expected a started flow');
    await expect(fake.sendCallback(result.providerFlowId)).rejects.toThrow(
      `fake esign: flow ${result.providerFlowId} is not complete`,
    );
  });
});

describe('logging', () => {
  it('logs method, path, code and duration, but no personal data and no secret', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
    const logged = new EsignProvider(config(fake.baseUrl), { logger });
    cleanups.push(() => logged.close());

    const result = await logged.startFace(START);
    if (result.kind !== 'started') throw new Error('expected a started flow');
    await logged.queryFlow(result.providerFlowId);
    fake.script.once('face', { kind: 'error', code: 30503107 });
    await rejection(logged.startFace({ ...START, person: { ...PERSON, accountId: result.accountId } }));

    const all = lines.join('');
    for (const secretOrPersonal of [
      SECRET,
      '张三',
      '11010519491231002X',
      '13800138000',
      'pk_test_0001',
      'esignoss',
    ]) {
      expect(all).not.toContain(secretOrPersonal);
    }
    const first = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(first).toMatchObject({
      method: 'POST',
      path: ACCOUNT_PATH,
      httpStatus: 200,
      code: 0,
      msg: 'esign request',
    });
    expect(typeof first.durationMs).toBe('number');
    expect(lines.some((line) => (JSON.parse(line) as { level: number }).level === 50)).toBe(true);
  });
});

describe('runFakeEsignCommand', () => {
  it('starts the fake and prints only its base URL', async () => {
    let printed = '';
    const out = new Writable({
      write(chunk: Buffer, _encoding, done) {
        printed += chunk.toString('utf8');
        done();
      },
    });
    const started = await runFakeEsignCommand(
      { port: 0, appId: APP_ID, appSecret: SECRET, latencyMs: 0 },
      out,
    );
    cleanups.push(() => started.close());
    expect(printed).toBe(`${started.baseUrl}\n`);
    expect(started.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const cliProvider = new EsignProvider(config(started.baseUrl), { logger: silent });
    cleanups.push(() => cliProvider.close());
    expect((await cliProvider.startFace(START)).kind).toBe('started');
  });

  it('logs each call it receives at info: method, path, HTTP status and e签宝 code', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    });
    const started = await runFakeEsignCommand(
      { port: 0, appId: APP_ID, appSecret: SECRET, logger: pino({ level: 'info' }, sink) },
      new Writable({ write: (_c, _e, done) => done() }),
    );
    cleanups.push(() => started.close());
    const cliProvider = new EsignProvider(config(started.baseUrl), { logger: silent });
    cleanups.push(() => cliProvider.close());
    await cliProvider.startFace(START);
    await fetch(`${started.baseUrl}/v1/accounts/getByThirdId`);
    const calls = lines
      .filter((l) => l.msg === 'fake esign call')
      .map(({ level, method, path, status, code, rejection }) => ({
        level,
        method,
        path,
        status,
        code,
        rejection,
      }));
    expect(calls).toEqual([
      {
        level: 30,
        method: 'POST',
        path: '/v1/accounts/createByThirdPartyUserId',
        status: 200,
        code: 0,
        rejection: undefined,
      },
      {
        level: 30,
        method: 'POST',
        path: expect.stringMatching(/^\/v2\/identity\/auth\/api\/individual\/[0-9a-f]{32}\/face$/),
        status: 200,
        code: 0,
        rejection: undefined,
      },
      {
        level: 30,
        method: 'GET',
        path: '/v1/accounts/getByThirdId',
        status: 401,
        code: 401,
        rejection: 'app id',
      },
    ]);
  });
});
