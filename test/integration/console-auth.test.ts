import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperator, disableOperator } from '../../src/services/console/operator-accounts.js';
import { ConsoleClient, type ConsoleResponse, operatorSession } from '../support/console-client.js';
import { createTestDatabase, type StoreKind, storeKinds, type TestDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { recordSecret } from '../support/paths.js';
import { createTestRedis, redisAvailable, type TestRedis } from '../support/redis.js';

const CLI = { kind: 'cli' as const, id: 'test' };
const envelope = (r: ConsoleResponse, code: number, msg: string, data: unknown = null) =>
  expect({ status: r.status, body: r.body }).toEqual({
    status: code,
    body: {
      requestId: r.headers.get('x-request-id'),
      responseCode: code === 200 ? '000' : String(code),
      responseMsg: msg,
      data,
    },
  });

describe.each(await storeKinds())('console sessions on %s', (kind: StoreKind) => {
  let db: TestDatabase;
  let gw: TestGateway;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    gw = await startGateway({ db, frozenClock: true });
  });
  afterAll(async () => {
    await gw?.close();
    await db?.drop();
  });

  it('answers 401 without a session, with the API headers', async () => {
    const r = await new ConsoleClient(gw.url).call('GET', '/overview?range=24h');
    envelope(r, 401, '未登录或登录已过期');
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    const unknown = await new ConsoleClient(gw.url).call('GET', '/nothing-here');
    envelope(unknown, 404, '接口不存在');
    expect(unknown.headers.get('cache-control')).toBe('no-store');
  });

  it('logs in with a cookie session, forces the password change, checks CSRF, logs out', async () => {
    recordSecret('first-login-pw');
    await createOperator(gw.runtime, CLI, { username: 'alice', role: 'admin', password: 'first-login-pw' });
    const c = new ConsoleClient(gw.url);
    envelope(await c.login('alice', 'wrong-password'), 401, '用户名或密码错误');
    envelope(await c.login('nobody', 'first-login-pw'), 401, '用户名或密码错误');
    const login = await c.login('alice', 'first-login-pw');
    envelope(login, 200, '成功', {
      username: 'alice',
      role: 'admin',
      mustChangePassword: true,
      csrfToken: c.csrf,
    });
    const cookie = login.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(
      /^etc_console_session=[A-Za-z0-9_-]{43}; Max-Age=28800; Path=\/console; HttpOnly; SameSite=Strict$/,
    );

    envelope(await c.call('GET', '/overview?range=24h'), 403, '请先修改初始密码');
    envelope(await c.call('GET', '/session'), 200, '成功', {
      username: 'alice',
      role: 'admin',
      mustChangePassword: true,
      csrfToken: c.csrf,
    });
    const change = { currentPassword: 'first-login-pw', newPassword: 'a-brand-new-password' };
    recordSecret(change.newPassword);
    envelope(
      await c.call('POST', '/session/password', change, { csrf: false }),
      403,
      '缺少或无效的 CSRF 令牌，请刷新页面后重试',
    );
    envelope(
      await c.call('POST', '/session/password', { ...change, newPassword: 'short' }),
      400,
      '请求参数错误',
      {
        errors: [{ field: 'newPassword', code: 'TOO_SHORT', message: '长度不能少于10个字符' }],
      },
    );
    envelope(
      await c.call('POST', '/session/password', { ...change, currentPassword: 'nope-nope-nope' }),
      400,
      '请求参数错误',
      {
        errors: [{ field: 'currentPassword', code: 'PASSWORD_WRONG', message: '当前密码不正确' }],
      },
    );
    envelope(await c.call('POST', '/session/password', change), 200, '成功', {
      username: 'alice',
      role: 'admin',
      mustChangePassword: false,
      csrfToken: c.csrf,
    });
    expect((await c.call('GET', '/overview?range=24h')).status).toBe(200);

    envelope(
      await c.call('DELETE', '/session', undefined, { csrf: false }),
      403,
      '缺少或无效的 CSRF 令牌，请刷新页面后重试',
    );
    const out = await c.call('DELETE', '/session');
    envelope(out, 200, '成功', null);
    expect(out.headers.get('set-cookie')).toBe(
      'etc_console_session=; Max-Age=0; Path=/console; HttpOnly; SameSite=Strict',
    );
    c.cookie = login.headers.get('set-cookie')?.split(';')[0] ?? null;
    envelope(await c.call('GET', '/session'), 401, '未登录或登录已过期');
  });

  it('keeps viewers out of admin calls and ends a disabled operator’s sessions at once', async () => {
    const viewer = await operatorSession(gw.runtime, gw.url, 'vera', 'viewer');
    const forbidden = '需要管理员权限';
    envelope(await viewer.call('GET', '/tokens'), 403, forbidden);
    envelope(await viewer.call('GET', '/audit'), 403, forbidden);
    envelope(await viewer.call('POST', '/tokens', { clientId: 'x' }), 403, forbidden);
    envelope(await viewer.call('POST', '/clients', { name: 'nope' }), 403, forbidden);
    envelope(
      await viewer.call('POST', '/flows/00000000-0000-4000-8000-000000000000/reveal', {
        reason: '核对身份信息',
      }),
      403,
      forbidden,
    );
    // A state change without CSRF is refused before the role is even looked at.
    envelope(
      await viewer.call('POST', '/clients', { name: 'nope' }, { csrf: false }),
      403,
      '缺少或无效的 CSRF 令牌，请刷新页面后重试',
    );
    expect((await viewer.call('GET', '/clients')).status).toBe(200);

    await disableOperator(gw.runtime, CLI, 'vera');
    envelope(await viewer.call('GET', '/clients'), 401, '未登录或登录已过期');
    envelope(await new ConsoleClient(gw.url).login('vera', 'chosen-password-arev'), 401, '用户名或密码错误');
  });

  it('ends sessions after CONSOLE_SESSION_HOURS', async () => {
    const admin = await operatorSession(gw.runtime, gw.url, 'tim', 'admin');
    gw.advance(8 * 3_600_000 - 1000);
    expect((await admin.call('GET', '/session')).status).toBe(200);
    gw.advance(1000);
    envelope(await admin.call('GET', '/session'), 401, '未登录或登录已过期');
  });
});

const limiters: [string, boolean][] = [
  ['memory', false],
  ...((await redisAvailable()) ? [['redis', true] as [string, boolean]] : []),
];

describe.each(limiters)('login throttling with the %s limiter', (_name, useRedis) => {
  const gws: TestGateway[] = [];
  let redis: TestRedis | undefined;
  beforeAll(async () => {
    if (useRedis) redis = createTestRedis();
    const env: Record<string, string> = redis ? redis.env : {};
    // With Redis two gateways share the counters: failures on one count on the other.
    for (let i = 0; i < (useRedis ? 2 : 1); i++) gws.push(await startGateway({ env, frozenClock: true }));
  });
  afterAll(async () => {
    for (const gw of gws) await gw.close();
    await redis?.drop();
  });
  const on = (i: number) => new ConsoleClient((gws[i % gws.length] as TestGateway).url);
  const advanceAll = (ms: number) => {
    for (const gw of gws) gw.advance(ms);
  };
  const throttled = '登录失败次数过多，请稍后再试';

  it('answers 429 after 5 failures for a username within 15 minutes, the right password included', async () => {
    const gw0 = gws[0] as TestGateway;
    recordSecret('bob-password-1');
    await createOperator(gw0.runtime, CLI, {
      username: `bob-${_name}`,
      role: 'viewer',
      password: 'bob-password-1',
    });
    for (let i = 0; i < 5; i++) expect((await on(i).login(`bob-${_name}`, 'bad')).status).toBe(401);
    const r = await on(5).login(`bob-${_name}`, 'bob-password-1');
    envelope(r, 429, throttled);
    expect(r.headers.get('retry-after')).toBe('900');
    advanceAll(15 * 60_000 + 1);
    expect((await on(0).login(`bob-${_name}`, 'bob-password-1')).status).toBe(200);
  });

  it('answers 429 after 5 failures from one IP, whatever the usernames', async () => {
    advanceAll(16 * 60_000);
    for (let i = 0; i < 5; i++) expect((await on(i).login(`ghost-${i}`, 'bad')).status).toBe(401);
    const r = await on(1).login('ghost-new', 'bad');
    envelope(r, 429, throttled);
    advanceAll(15 * 60_000 + 1);
    expect((await on(1).login('ghost-new', 'bad')).status).toBe(401);
  });
});
