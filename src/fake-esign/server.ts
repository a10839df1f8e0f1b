/**
 * A strict, stateful stand-in for e签宝's open API, for tests and local runs (no machine here
 * reaches e签宝). Its gateway check is written independently of src/providers/esign/signing.ts on
 * purpose: a client bug then shows up as a 401 instead of being mirrored by shared code.
 */
import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { request as undiciRequest } from 'undici';
import { ESIGN_FACE_MODES } from '../config.js';
import { facePage, finishedPage } from './face-page.js';

export type FakeEndpoint = 'createAccount' | 'getAccount' | 'face' | 'faceStatus' | 'detail';

/** How the fake answers a request that passed the gateway check, instead of its normal answer. */
export type FakeAnswer =
  /** `30500152`, as if the account were verified (face endpoint). */
  | { kind: 'already-verified' }
  /** A business error envelope `{ code, message }` with HTTP 200 unless `status` is given. */
  | { kind: 'error'; code: number; message?: string; status?: number }
  /** A raw HTTP answer. */
  | { kind: 'http'; status: number; body: string; contentType?: string }
  /** HTTP 200 with a JSON content type and a body that is not JSON. */
  | { kind: 'malformed' }
  /** Never answers (until the fake closes). */
  | { kind: 'hang' }
  /** Waits, then gives the normal answer. */
  | { kind: 'slow'; ms: number }
  /** The normal answer (state changes included) with these `data` fields replaced. */
  | { kind: 'patch'; data: Record<string, unknown> };

export type FakeFlowStatus = 'INIT' | 'SCAN' | 'SUCCESS' | 'FAIL';

export interface FakeAccount {
  accountId: string;
  thirdPartyUserId: string;
  name: string;
  idType: string;
  idNumber: string;
  mobile: string | null;
}

export interface FakeFlow {
  flowId: string;
  accountId: string;
  faceauthMode: string;
  repetition: boolean | null;
  contextId: string | null;
  notifyUrl: string | null;
  callbackUrl: string | null;
  /** The fake's own face page (`/identity/face/<token>`), where a person passes or fails. */
  originalUrl: string;
  pageToken: string;
  authUrl: string;
  expire: number;
  status: FakeFlowStatus;
  failReason: string | null;
}

export interface FakeRequestRecord {
  method: string;
  /** Path without the query string. */
  path: string;
  verified: boolean;
  /** Why the gateway check failed (finer than the 401 message), or null. */
  rejection: string | null;
}

export interface FakeCallbackOptions {
  appId?: string;
  /** Signs with this secret instead of the app's. */
  secret?: string;
  /** Sent as `X-Tsign-Open-TIMESTAMP` (and signed), default now in ms. */
  timestamp?: number | string;
  /** Sent instead of the computed signature. */
  signature?: string;
  algorithm?: string;
  /** Sent instead of the signed body bytes (the signature still covers the original). */
  tamperedBody?: string;
}

export interface StartFakeEsignOptions {
  appId: string;
  appSecret: string;
  port?: number;
  host?: string;
  latencyMs?: number;
  logger?: Logger;
}

const ACCEPT = '*/*';
const CONTENT_TYPE = 'application/json; charset=UTF-8';
const TIMESTAMP_WINDOW_MS = 15 * 60 * 1000;
const FLOW_LIFETIME_MS = 23 * 60 * 60 * 1000;
const MAX_BODY_BYTES = 64 * 1024;
const FACE_MODES: ReadonlySet<string> = new Set(ESIGN_FACE_MODES);
const ID_TYPES = new Set([
  'CRED_PSN_CH_IDCARD',
  'CRED_PSN_CH_HONGKONG',
  'CRED_PSN_CH_MACAO',
  'CRED_PSN_CH_TWCARD',
]);
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK_CHARS = '10X98765432';

/** One-shot answers (consumed first, in order) and persistent ones, per endpoint. */
export class FakeScript {
  private readonly queued = new Map<FakeEndpoint, FakeAnswer[]>();
  private readonly persistent = new Map<FakeEndpoint, FakeAnswer>();

  /** The next requests to `endpoint` get these answers, one each. */
  once(endpoint: FakeEndpoint, ...answers: FakeAnswer[]): this {
    this.queued.set(endpoint, [...(this.queued.get(endpoint) ?? []), ...answers]);
    return this;
  }

  /** Every request to `endpoint` gets this answer (after any one-shot answers) until cleared. */
  always(endpoint: FakeEndpoint, answer: FakeAnswer): this {
    this.persistent.set(endpoint, answer);
    return this;
  }

  clear(endpoint?: FakeEndpoint): void {
    if (endpoint) {
      this.queued.delete(endpoint);
      this.persistent.delete(endpoint);
    } else {
      this.queued.clear();
      this.persistent.clear();
    }
  }

  take(endpoint: FakeEndpoint): FakeAnswer | undefined {
    return this.queued.get(endpoint)?.shift() ?? this.persistent.get(endpoint);
  }
}

type Envelope = { status: number; body: string; contentType: string };

function envelope(code: number, message: string, data: unknown = null, status = 200): Envelope {
  return {
    status,
    body: JSON.stringify({ code, message, data }),
    contentType: 'application/json; charset=UTF-8',
  };
}

const ok = (data: unknown) => envelope(0, '成功', data);
const missing = (name: string) => envelope(30500100, `缺少参数: ${name}`);
const invalidParam = (name: string) => envelope(30500101, `参数错误: ${name}`);
/** Gateway refusals carry no `data` field, exactly as e签宝's gateway answers them. */
const gatewayReject = (message: string): Envelope => ({
  status: 401,
  body: JSON.stringify({ code: 401, message }),
  contentType: 'application/json; charset=UTF-8',
});

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

function validIdNumber(id: string): boolean {
  if (!/^\d{17}[\dX]$/.test(id)) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(id[i]) * (ID_WEIGHTS[i] ?? 0);
  return ID_CHECK_CHARS[sum % 11] === id[17];
}

/** The signed request target: path plus the query sorted by key, values as sent. */
function canonicalTarget(target: string): string {
  const q = target.indexOf('?');
  if (q < 0) return target;
  const path = target.slice(0, q);
  const pairs = target
    .slice(q + 1)
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq < 0 ? ([pair, ''] as const) : ([pair.slice(0, eq), pair.slice(eq + 1)] as const);
    })
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (pairs.length === 0) return path;
  return `${path}?${pairs.map(([k, v]) => (v ? `${k}=${v}` : k)).join('&')}`;
}

export class FakeEsign {
  readonly script = new FakeScript();
  /** Added before every answer; settable at any time. */
  latencyMs: number;
  readonly requests: FakeRequestRecord[] = [];
  private readonly accountsByThirdId = new Map<string, FakeAccount>();
  private readonly accountsById = new Map<string, FakeAccount>();
  private readonly flowsById = new Map<string, FakeFlow>();
  private readonly flowIdsByPageToken = new Map<string, string>();
  private readonly originalUrlsByShortCode = new Map<string, string>();
  private readonly verifiedAccounts = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server: http.Server;
  readonly baseUrl: string;
  readonly port: number;

  private constructor(
    private readonly opts: StartFakeEsignOptions,
    server: http.Server,
    host: string,
  ) {
    this.latencyMs = opts.latencyMs ?? 0;
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    this.baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.handle(req, res));
  }

  static async start(opts: StartFakeEsignOptions): Promise<FakeEsign> {
    const server = http.createServer();
    const host = opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new FakeEsign(opts, server, host);
  }

  /** Face-start requests that passed the gateway check (scripted answers included). */
  get faceCalls(): number {
    return this.requests.filter(
      (r) => r.verified && r.method === 'POST' && /\/individual\/[^/]+\/face$/.test(r.path),
    ).length;
  }

  /** Accounts by thirdPartyUserId. */
  get accounts(): ReadonlyMap<string, FakeAccount> {
    return this.accountsByThirdId;
  }

  get flows(): ReadonlyMap<string, FakeFlow> {
    return this.flowsById;
  }

  isVerified(accountId: string): boolean {
    return this.verifiedAccounts.has(accountId);
  }

  markVerified(accountId: string): void {
    this.verifiedAccounts.add(accountId);
  }

  /** The person opened the face page. */
  openFlow(flowId: string): void {
    const flow = this.flow(flowId);
    if (flow.status === 'INIT') flow.status = 'SCAN';
  }

  completeFlow(flowId: string, result: { success: boolean; failReason?: string }): void {
    const flow = this.flow(flowId);
    flow.status = result.success ? 'SUCCESS' : 'FAIL';
    flow.failReason = result.success ? null : (result.failReason ?? '活体检测未通过');
    if (result.success) this.verifiedAccounts.add(flow.accountId);
  }

  /** POSTs the signed result callback of a completed flow to its notifyUrl; returns the HTTP status. */
  async sendCallback(flowId: string, opts: FakeCallbackOptions = {}): Promise<number> {
    const flow = this.flow(flowId);
    if (!flow.notifyUrl) throw new Error(`fake esign: flow ${flowId} has no notifyUrl`);
    if (flow.status !== 'SUCCESS' && flow.status !== 'FAIL') {
      throw new Error(`fake esign: flow ${flowId} is not complete`);
    }
    const notifyUrl = new URL(flow.notifyUrl);
    const body = Buffer.from(
      JSON.stringify({
        action: 'identity_psn_end',
        flowId: flow.flowId,
        accountId: flow.accountId,
        success: flow.status === 'SUCCESS',
        contextId: flow.contextId,
        verifycode: randomBytes(16).toString('hex'),
        serviceId: flow.flowId,
      }),
      'utf8',
    );
    const timestamp = String(opts.timestamp ?? Date.now());
    const queryValues = [...notifyUrl.searchParams.keys()]
      .sort()
      .map((key) => notifyUrl.searchParams.get(key) ?? '')
      .join('');
    const signature =
      opts.signature ??
      createHmac('sha256', opts.secret ?? this.opts.appSecret)
        .update(timestamp)
        .update(queryValues)
        .update(body)
        .digest('hex');
    const res = await undiciRequest(notifyUrl, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json; charset=UTF-8',
        'X-Tsign-Open-App-Id': opts.appId ?? this.opts.appId,
        'X-Tsign-Open-TIMESTAMP': timestamp,
        'X-Tsign-Open-SIGNATURE-ALGORITHM': opts.algorithm ?? 'hmac-sha256',
        'X-Tsign-Open-SIGNATURE': signature,
      },
      body: opts.tamperedBody ?? body,
      signal: AbortSignal.timeout(5000),
    });
    await res.body.dump();
    return res.statusCode;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) {
        this.send(res, envelope(413, 'REQUEST_TOO_LARGE', undefined, 413));
        return;
      }
      this.answer(req, res, Buffer.concat(chunks));
    });
  }

  private flow(flowId: string): FakeFlow {
    const flow = this.flowsById.get(flowId);
    if (!flow) throw new Error(`fake esign: unknown flow ${flowId}`);
    return flow;
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private send(res: http.ServerResponse, answer: Envelope): void {
    if (res.destroyed) return;
    res.writeHead(answer.status, { 'Content-Type': answer.contentType });
    res.end(answer.body);
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const method = req.method ?? '';
    const target = req.url ?? '/';
    const url = new URL(target, 'http://fake.invalid');
    if (this.servePage(method, url, body, res)) return;
    const rejection = this.gatewayCheck(req, method, target, body);
    this.requests.push({
      method,
      path: url.pathname,
      verified: rejection === null,
      rejection: rejection?.reason ?? null,
    });
    const reply = (answer: Envelope) => {
      this.logCall(method, url.pathname, answer, rejection?.reason);
      if (this.latencyMs > 0) this.later(this.latencyMs, () => this.send(res, answer));
      else this.send(res, answer);
    };
    if (rejection) {
      reply(gatewayReject(rejection.message));
      return;
    }
    const route = this.route(method, url.pathname);
    if ('answer' in route) {
      reply(route.answer);
      return;
    }
    const scripted = this.script.take(route.endpoint);
    const normal = (patch?: Record<string, unknown>) => {
      let parsed: unknown = null;
      if (method === 'POST') {
        try {
          parsed = JSON.parse(body.toString('utf8'));
        } catch {
          return invalidParam('请求体不是合法 JSON');
        }
      }
      const answer = route.run(parsed, url.searchParams);
      if (!patch) return answer;
      const env = JSON.parse(answer.body) as { code: number; message: string; data: unknown };
      return envelope(
        env.code,
        env.message,
        { ...(isObject(env.data) ? env.data : {}), ...patch },
        answer.status,
      );
    };
    switch (scripted?.kind) {
      case undefined:
        reply(normal());
        return;
      case 'already-verified':
        reply(envelope(30500152, '该账号已实名认证'));
        return;
      case 'error':
        reply(envelope(scripted.code, scripted.message ?? 'scripted error', null, scripted.status ?? 200));
        return;
      case 'http':
        reply({
          status: scripted.status,
          body: scripted.body,
          contentType: scripted.contentType ?? 'text/html',
        });
        return;
      case 'malformed':
        reply({ status: 200, body: '{"code":0,"message":"成功","data":{', contentType: 'application/json' });
        return;
      case 'hang':
        return;
      case 'slow':
        this.later(scripted.ms, () => reply(normal()));
        return;
      case 'patch':
        reply(normal(scripted.data));
        return;
    }
  }

  /** One info line per call: method, path, HTTP status and e签宝 result code. */
  private logCall(method: string, path: string, answer: Envelope, rejection?: string): void {
    if (!this.opts.logger) return;
    let code: unknown = null;
    if (answer.contentType.startsWith('application/json')) {
      try {
        code = (JSON.parse(answer.body) as { code?: unknown }).code ?? null;
      } catch {
        code = null;
      }
    }
    this.opts.logger.info(
      { method, path, status: answer.status, code, ...(rejection ? { rejection } : {}) },
      'fake esign call',
    );
  }

  /**
   * What a person's browser and the `fake-esign complete` command reach: the face page, its form,
   * the short link and the completion hook. None of these go through e签宝's API gateway check.
   * Returns false for everything else.
   */
  private servePage(method: string, url: URL, body: Buffer, res: http.ServerResponse): boolean {
    const path = url.pathname;
    const respond = (answer: Envelope, headers: Record<string, string> = {}) => {
      this.logCall(method, path, answer);
      if (res.destroyed) return;
      res.writeHead(answer.status, { 'Content-Type': answer.contentType, ...headers });
      res.end(answer.body);
    };
    const html = (status: number, page: string): Envelope => ({
      status,
      body: page,
      contentType: 'text/html; charset=utf-8',
    });
    const redirect = (status: number, location: string) =>
      respond({ status, body: '', contentType: 'text/plain; charset=utf-8' }, { Location: location });

    if (path === '/favicon.ico') {
      respond({ status: 204, body: '', contentType: 'image/x-icon' });
      return true;
    }
    const short = /^\/t\/([\w-]+)$/.exec(path);
    if (short && method === 'GET') {
      const target = this.originalUrlsByShortCode.get(short[1] ?? '');
      if (target) redirect(302, target);
      else respond(html(404, finishedPage(false)));
      return true;
    }

    const page = /^\/identity\/face\/([\w-]+)$/.exec(path);
    if (page && (method === 'GET' || method === 'POST')) {
      const flow = this.flowsById.get(this.flowIdsByPageToken.get(page[1] ?? '') ?? '');
      if (!flow) {
        respond(html(404, finishedPage(false)));
        return true;
      }
      const finished = flow.status === 'SUCCESS' || flow.status === 'FAIL';
      if (method === 'GET') {
        if (finished) {
          if (flow.callbackUrl) redirect(302, flow.callbackUrl);
          else respond(html(200, finishedPage(flow.status === 'SUCCESS')));
          return true;
        }
        this.openFlow(flow.flowId);
        const account = this.accountsById.get(flow.accountId);
        // e签宝 probes the notify URL with a GET when the page opens; the gateway answers 200.
        void this.probeNotifyUrl(flow).finally(() =>
          respond(
            html(
              200,
              facePage({ name: account?.name ?? null, idNumber: account?.idNumber ?? null, action: path }),
            ),
          ),
        );
        return true;
      }
      const result = new URLSearchParams(body.toString('utf8')).get('result');
      if (result !== 'pass' && result !== 'fail') {
        respond(html(400, finishedPage(false)));
        return true;
      }
      const after = () => {
        if (flow.callbackUrl) redirect(303, flow.callbackUrl);
        else respond(html(200, finishedPage(flow.status === 'SUCCESS')));
      };
      if (finished) after();
      else
        void this.finish(flow.flowId, result === 'pass' ? { success: true } : { success: false }).then(after);
      return true;
    }

    const hook = /^\/fake\/flows\/([^/]+)\/complete$/.exec(path);
    if (hook && method === 'POST') {
      const id = decodeURIComponent(hook[1] ?? '');
      // The gateway's own flow id (e签宝's contextId) also names the flow, so a script that only
      // knows what the gateway answered can finish it.
      const flow =
        this.flowsById.get(id) ?? [...this.flowsById.values()].find((f) => f.contextId === id && id !== '');
      let input: unknown = null;
      try {
        input = JSON.parse(body.toString('utf8') || '{}');
      } catch {
        input = null;
      }
      if (!flow) respond(envelope(30500004, '认证流程不存在', null, 404));
      else if (!isObject(input)) respond(invalidParam('请求体必须是 JSON 对象'));
      else if (flow.status === 'SUCCESS' || flow.status === 'FAIL')
        respond(envelope(30500005, '认证流程已结束', { flowId: flow.flowId, status: flow.status }, 409));
      else {
        const failReason = typeof input.failReason === 'string' ? input.failReason : undefined;
        void this.finish(
          flow.flowId,
          input.success === false ? { success: false, failReason } : { success: true },
        ).then((callbackStatus) => respond(ok({ flowId: flow.flowId, status: flow.status, callbackStatus })));
      }
      return true;
    }
    return false;
  }

  /** Completes a flow and sends its signed callback; the callback's HTTP status, or null if none went out. */
  private async finish(
    flowId: string,
    result: { success: boolean; failReason?: string },
  ): Promise<number | null> {
    this.completeFlow(flowId, result);
    if (!this.flow(flowId).notifyUrl) return null;
    try {
      const status = await this.sendCallback(flowId);
      this.opts.logger?.info({ flowId, status }, 'fake esign sent result callback');
      return status;
    } catch (err) {
      this.opts.logger?.warn({ flowId, err: (err as Error).message }, 'fake esign callback failed');
      return null;
    }
  }

  private async probeNotifyUrl(flow: FakeFlow): Promise<void> {
    if (!flow.notifyUrl) return;
    try {
      const res = await undiciRequest(flow.notifyUrl, { method: 'GET', signal: AbortSignal.timeout(2000) });
      await res.body.dump();
    } catch {
      // A probe nobody answers changes nothing, as with e签宝.
    }
  }

  /** e签宝's gateway rules; null when the request may pass. */
  private gatewayCheck(
    req: http.IncomingMessage,
    method: string,
    target: string,
    body: Buffer,
  ): { message: string; reason: string } | null {
    const one = (name: string): string | undefined => {
      const values = req.headersDistinct[name];
      return values?.length === 1 ? values[0] : undefined;
    };
    const bad = (reason: string) => ({ message: 'INVALID_SIGNATURE', reason });
    if (one('x-tsign-open-app-id') !== this.opts.appId) return { message: '无效的应用', reason: 'app id' };
    if (one('x-tsign-open-auth-mode') !== 'Signature') return bad('auth mode');
    const timestamp = one('x-tsign-open-ca-timestamp');
    if (
      !timestamp ||
      !/^\d{13}$/.test(timestamp) ||
      Math.abs(Date.now() - Number(timestamp)) > TIMESTAMP_WINDOW_MS
    ) {
      return { message: 'INVALID_TIMESTAMP', reason: 'timestamp' };
    }
    if (one('accept') !== ACCEPT) return bad('accept');
    if (one('content-type') !== CONTENT_TYPE) return bad('content-type');
    const md5Values = req.headersDistinct['content-md5'];
    if (md5Values && md5Values.length !== 1) return bad('content-md5 repeated');
    const md5 = md5Values?.[0] ?? '';
    if (method === 'GET') {
      if (md5 !== '' || body.length > 0) return bad('GET with body or content-md5');
    } else if (md5 !== createHash('md5').update(body).digest('base64')) {
      return bad('content-md5 mismatch');
    }
    const signature = one('x-tsign-open-ca-signature');
    if (!signature) return bad('signature missing');
    const expected = createHmac('sha256', this.opts.appSecret)
      .update(`${method}\n${ACCEPT}\n${md5}\n${CONTENT_TYPE}\n\n${canonicalTarget(target)}`, 'utf8')
      .digest();
    const given = Buffer.from(signature, 'base64');
    if (
      given.toString('base64') !== signature ||
      given.length !== expected.length ||
      !timingSafeEqual(given, expected)
    ) {
      return bad('signature mismatch');
    }
    return null;
  }

  private route(
    method: string,
    path: string,
  ):
    | { answer: Envelope }
    | { endpoint: FakeEndpoint; run: (body: unknown, query: URLSearchParams) => Envelope } {
    const routes: Array<
      [string, RegExp, FakeEndpoint, (m: RegExpExecArray) => (b: unknown, q: URLSearchParams) => Envelope]
    > = [
      [
        'POST',
        /^\/v1\/accounts\/createByThirdPartyUserId$/,
        'createAccount',
        () => (b) => this.createAccount(b),
      ],
      ['GET', /^\/v1\/accounts\/getByThirdId$/, 'getAccount', () => (_b, q) => this.getAccount(q)],
      [
        'POST',
        /^\/v2\/identity\/auth\/api\/individual\/([^/]+)\/face$/,
        'face',
        (m) => (b) => this.startFace(decodeURIComponent(m[1] ?? ''), b),
      ],
      [
        'GET',
        /^\/v2\/identity\/auth\/pub\/individual\/([^/]+)\/face$/,
        'faceStatus',
        (m) => () => this.faceStatus(decodeURIComponent(m[1] ?? '')),
      ],
      [
        'GET',
        /^\/v2\/identity\/auth\/api\/common\/([^/]+)\/detail$/,
        'detail',
        (m) => () => this.detail(decodeURIComponent(m[1] ?? '')),
      ],
    ];
    for (const [routeMethod, pattern, endpoint, handler] of routes) {
      const match = pattern.exec(path);
      if (!match) continue;
      if (routeMethod !== method) return { answer: envelope(405, 'METHOD_NOT_ALLOWED', null, 405) };
      return { endpoint, run: handler(match) };
    }
    return { answer: envelope(404, 'NOT_FOUND', null, 404) };
  }

  private createAccount(body: unknown): Envelope {
    if (!isObject(body)) return invalidParam('请求体必须是 JSON 对象');
    const { thirdPartyUserId, name, idNumber, mobile } = body;
    const idType = body.idType ?? 'CRED_PSN_CH_IDCARD';
    if (!nonEmptyString(thirdPartyUserId)) return missing('thirdPartyUserId');
    if (!nonEmptyString(name)) return missing('name');
    if (!nonEmptyString(idNumber)) return missing('idNumber');
    if (thirdPartyUserId.length > 64) return invalidParam('thirdPartyUserId');
    if (typeof idType !== 'string' || !ID_TYPES.has(idType)) return invalidParam('idType');
    if (!validIdNumber(idNumber)) return invalidParam('idNumber');
    if (
      mobile !== undefined &&
      mobile !== null &&
      (typeof mobile !== 'string' || !/^1\d{10}$/.test(mobile))
    ) {
      return invalidParam('mobile');
    }
    if (this.accountsByThirdId.has(thirdPartyUserId)) return envelope(53000000, '账号已存在');
    const account: FakeAccount = {
      accountId: randomBytes(16).toString('hex'),
      thirdPartyUserId,
      name,
      idType,
      idNumber,
      mobile: typeof mobile === 'string' ? mobile : null,
    };
    this.accountsByThirdId.set(thirdPartyUserId, account);
    this.accountsById.set(account.accountId, account);
    return ok({ accountId: account.accountId });
  }

  private getAccount(query: URLSearchParams): Envelope {
    const thirdPartyUserId = query.get('thirdPartyUserId');
    if (!thirdPartyUserId) return missing('thirdPartyUserId');
    const account = this.accountsByThirdId.get(thirdPartyUserId);
    if (!account) return envelope(53000001, '账号不存在');
    return ok({ ...account });
  }

  private startFace(accountId: string, body: unknown): Envelope {
    if (!isObject(body)) return invalidParam('请求体必须是 JSON 对象');
    const { faceauthMode, repetition, callbackUrl, notifyUrl, contextId } = body;
    if (faceauthMode === undefined || faceauthMode === null || faceauthMode === '')
      return missing('faceauthMode');
    if (typeof faceauthMode !== 'string' || !FACE_MODES.has(faceauthMode))
      return invalidParam('faceauthMode');
    if (repetition !== undefined && typeof repetition !== 'boolean') return invalidParam('repetition');
    for (const [name, value] of [
      ['callbackUrl', callbackUrl],
      ['notifyUrl', notifyUrl],
    ] as const) {
      if (value !== undefined && (typeof value !== 'string' || value.length > 1000 || !isHttpUrl(value))) {
        return invalidParam(name);
      }
    }
    if (contextId !== undefined && (typeof contextId !== 'string' || contextId.length > 128)) {
      return invalidParam('contextId');
    }
    if (!this.accountsById.has(accountId)) return envelope(53000001, '账号不存在');
    if (repetition === false && this.verifiedAccounts.has(accountId))
      return envelope(30500152, '该账号已实名认证');
    let flowId = '';
    while (flowId === '' || this.flowsById.has(flowId)) {
      flowId = `3${String(randomInt(1e9)).padStart(9, '0')}${String(randomInt(1e9)).padStart(9, '0')}`;
    }
    const pageToken = randomBytes(18).toString('base64url');
    const shortCode = randomBytes(6).toString('base64url');
    const flow: FakeFlow = {
      flowId,
      accountId,
      faceauthMode,
      repetition: typeof repetition === 'boolean' ? repetition : null,
      contextId: typeof contextId === 'string' ? contextId : null,
      notifyUrl: typeof notifyUrl === 'string' ? notifyUrl : null,
      callbackUrl: typeof callbackUrl === 'string' ? callbackUrl : null,
      originalUrl: `${this.baseUrl}/identity/face/${pageToken}`,
      pageToken,
      authUrl: `${this.baseUrl}/t/${shortCode}`,
      expire: Date.now() + FLOW_LIFETIME_MS,
      status: 'INIT',
      failReason: null,
    };
    this.flowsById.set(flowId, flow);
    this.flowIdsByPageToken.set(pageToken, flowId);
    this.originalUrlsByShortCode.set(shortCode, flow.originalUrl);
    return ok({ flowId, authUrl: flow.authUrl, originalUrl: flow.originalUrl, expire: flow.expire });
  }

  private faceStatus(flowId: string): Envelope {
    const flow = this.flowsById.get(flowId);
    if (!flow) return envelope(30500004, '认证流程不存在');
    const status = flow.status === 'INIT' ? 'ING' : flow.status;
    return ok({
      flowId,
      status,
      failedReasonCode: flow.status === 'FAIL' ? '1445900' : null,
      failedReason: flow.failReason,
    });
  }

  private detail(flowId: string): Envelope {
    const flow = this.flowsById.get(flowId);
    if (!flow) return envelope(30500004, '认证流程不存在');
    const account = this.accountsById.get(flow.accountId);
    const media = `https://esignoss.esign.cn/face/${flowId}`;
    return ok({
      flowId,
      status: flow.status === 'SCAN' ? 'ING' : flow.status,
      failReason: flow.failReason,
      indivInfo: {
        accountId: flow.accountId,
        name: account?.name ?? null,
        certNo: account?.idNumber ?? null,
      },
      // Real answers carry media links; the fake does too so tests can prove they are dropped.
      facePhotoUrl: `${media}/photo.jpg`,
      videoUrl: `${media}/video.mp4`,
    });
  }
}

export function startFakeEsign(opts: StartFakeEsignOptions): Promise<FakeEsign> {
  return FakeEsign.start(opts);
}
