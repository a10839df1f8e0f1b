import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_STATIC_DIR, CSRF_HEADER } from '../../src/http/console/contract.js';
import { createOperator } from '../../src/services/console/operator-accounts.js';
import { completeSandboxFlow } from '../../src/services/flows/sandbox.js';
import * as deliveryStore from '../../src/store/delivery-store.js';
import { api, FACE, type TestGateway } from '../support/gateway.js';
import { type NotifyingGateway, startNotifyingGateway } from '../support/notifying-gateway.js';
import { ARTIFACTS, ROOT, recordSecret } from '../support/paths.js';
import { person, type TestPerson } from '../support/people.js';
import type { WebhookReceiver } from '../support/webhook-receiver.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
const mustRun = process.env.CI === 'true';
if (!haveChromium && !mustRun) console.log(`${CHROMIUM} not found: skipping the console browser tests`);

const SHOTS = path.join(ARTIFACTS, 'console');
const shot = (name: string) => path.join(SHOTS, `${name}.png`);

/** Retries come at once; the dispatcher's own interval is short so a redelivery is sent promptly. */
const NOTIFY_ENV = {
  NOTIFY_ALLOW_PRIVATE_NETWORKS: 'true',
  NOTIFY_RETRY_SCHEDULE: '0s,100ms,100ms',
  NOTIFY_TIMEOUT_MS: '500',
  NOTIFY_DISPATCH_INTERVAL_MS: '100',
  RECONCILE_INTERVAL_MS: '600000',
};

/** The console's built files are what the gateway serves: build them when console/ is newer. */
function ensureConsoleBuilt(): void {
  const index = path.join(ROOT, CONSOLE_STATIC_DIR, 'index.html');
  const newest = (dir: string): number =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .map((e) =>
        e.isDirectory() ? newest(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).mtimeMs,
      )
      .reduce((a, b) => Math.max(a, b), 0);
  const sources = Math.max(
    newest(path.join(ROOT, 'console')),
    fs.statSync(path.join(ROOT, 'src/http/console/contract.ts')).mtimeMs,
  );
  if (fs.existsSync(index) && fs.statSync(index).mtimeMs >= sources) return;
  execFileSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules/vite/bin/vite.js'),
      'build',
      '--config',
      'console/vite.config.ts',
      '--logLevel',
      'warn',
    ],
    { cwd: ROOT, stdio: 'inherit', timeout: 180_000 },
  );
}

/** Compares without printing: a failing `toBe` would put the person's data into the test output. */
function expectSame(actual: string | null, expected: string, what: string): void {
  expect(actual === expected, `${what} shown as expected`).toBe(true);
}

function expectNoPersonalData(html: string, p: TestPerson): void {
  const leaked = (['name', 'idNumber', 'mobile'] as const).filter((k) => html.includes(p[k]));
  expect(leaked, 'fields of the person found unmasked in the page').toEqual([]);
}

const maskedId = (p: TestPerson) => `${p.idNumber.slice(0, 4)}**********${p.idNumber.slice(14)}`;

/** Pixels of a chart's canvas close to one of the given colours: proof that data was drawn. */
async function paintedPixels(page: Page, chart: string, colors: [number, number, number][]) {
  return page.locator(`[data-chart=${chart}] canvas`).evaluate((canvas, wanted) => {
    const c = canvas as HTMLCanvasElement;
    const data = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
    if (!data) return wanted.map(() => 0);
    const counts = wanted.map(() => 0);
    for (let i = 0; i < data.length; i += 4) {
      if ((data[i + 3] ?? 0) < 200) continue;
      wanted.forEach(([r, g, b], k) => {
        const near =
          Math.abs((data[i] ?? 0) - r) < 12 &&
          Math.abs((data[i + 1] ?? 0) - g) < 12 &&
          Math.abs((data[i + 2] ?? 0) - b) < 12;
        if (near) counts[k] = (counts[k] ?? 0) + 1;
      });
    }
    return counts;
  }, colors);
}

/** Waits for a condition outside a test (expect.poll works only inside one). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const BLUE: [number, number, number] = [0x3b, 0x82, 0xf6];
const GREEN: [number, number, number] = [0x22, 0xc5, 0x5e];
const RED: [number, number, number] = [0xef, 0x44, 0x44];

if (!haveChromium && mustRun) {
  describe('operator console in Chromium', () => {
    it('needs Chromium', () => {
      throw new Error(`CI=true but ${CHROMIUM} is missing: install Debian's chromium package`);
    });
  });
}

describe.runIf(haveChromium)('operator console in Chromium', { timeout: 60_000 }, () => {
  let setup: NotifyingGateway | undefined;
  let gw: TestGateway;
  let receiver: WebhookReceiver;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  const passwords = { ops: '', watcher: '' };
  const NEW_PASSWORD = 'Console-pass-2026!';
  const people = {
    success: person(52_001),
    failedA: person(52_002),
    failedB: person(52_003),
    pending: person(52_004),
  };
  const flows: Record<keyof typeof people, string> = { success: '', failedA: '', failedB: '', pending: '' };

  const consoleUrl = (hash = '') => `${gw.url}/console/${hash}`;

  const newContext = async () => {
    const context = await browser.newContext({
      viewport: { width: 1440, height: 900 },
      locale: 'zh-CN',
      timezoneId: 'Asia/Shanghai',
      // No transitions: screenshots show settled pages, not dialogs halfway in.
      reducedMotion: 'reduce',
    });
    // A missing element fails at its locator, well within the test's own timeout.
    context.setDefaultTimeout(10_000);
    // CSP violations arrive as DOM events; console errors other than expected HTTP failures are defects.
    await context.addInitScript(() => {
      const w = window as unknown as { cspViolations: string[] };
      w.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        w.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    context.on('page', (p) => {
      p.on('console', (m) => {
        if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
          problems.push(`console: ${m.text().slice(0, 200)}`);
      });
      p.on('pageerror', (e) => problems.push(`pageerror: ${e.message.slice(0, 200)}`));
    });
    return context;
  };

  const cspViolations = (p: Page) =>
    p.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);

  /** A console API call from the page, with its session cookie and (optionally) the CSRF token. */
  const apiFromPage = (p: Page, method: string, url: string, body?: unknown, csrf?: string) =>
    p.evaluate(
      async ({ method, url, body, csrf, header }) => {
        const res = await fetch(url, {
          method,
          headers: {
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(csrf ? { [header]: csrf } : {}),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return {
          status: res.status,
          cacheControl: res.headers.get('cache-control'),
          body: (await res.json()) as { responseCode: string; data: unknown },
        };
      },
      { method, url, body, csrf, header: CSRF_HEADER },
    );

  const csrfOf = async (p: Page) => {
    const me = await apiFromPage(p, 'GET', '/console/api/session');
    return (me.body.data as { csrfToken: string }).csrfToken;
  };

  async function login(p: Page, username: string, password: string): Promise<void> {
    await p.goto(consoleUrl());
    await p.waitForURL(/#\/login/);
    await p.locator('input[name=username]').fill(username);
    await p.locator('input[name=password]').fill(password);
    await p.getByRole('button', { name: '登录' }).click();
  }

  async function changePassword(p: Page, current: string): Promise<void> {
    await p.waitForURL(/#\/password/);
    await p.locator('input[name=currentPassword]').fill(current);
    await p.locator('input[name=newPassword]').fill(NEW_PASSWORD);
    await p.locator('input[name=repeatPassword]').fill(NEW_PASSWORD);
    await p.getByRole('button', { name: '保存新密码' }).click();
    await p.waitForURL(/#\/overview/);
  }

  const startFlow = async (p: TestPerson) => {
    const r = await api(gw, 'POST', FACE, p);
    expect(r.status).toBe(200);
    return r.body.data as { flowId: string; authUrl: string; message: string };
  };
  const openLink = async (authUrl: string) => {
    const r = await fetch(authUrl, { redirect: 'manual' });
    expect(r.status).toBe(302);
  };
  const deliveryStatus = async (flowId: string) =>
    (await deliveryStore.findDeliveryByFlow(gw.runtime.store.db, flowId))?.status;

  beforeAll(async () => {
    ensureConsoleBuilt();
    fs.mkdirSync(SHOTS, { recursive: true });
    setup = await startNotifyingGateway('sqlite', NOTIFY_ENV);
    ({ gw, receiver } = setup);

    // The flows the overview and the searches show: one success (delivered), two failures whose
    // notifications die (the endpoint answers 500), one pending flow asked for twice (reused), and
    // the successful person asking again (verified).
    const success = await startFlow(people.success);
    flows.success = success.flowId;
    await openLink(success.authUrl);
    await completeSandboxFlow(gw.runtime, flows.success, { success: true });
    await until(
      'the success notification',
      async () => (await deliveryStatus(flows.success)) === 'DELIVERED',
    );
    expect((await startFlow(people.success)).message).toBe('verified');

    receiver.respond = () => 500;
    for (const key of ['failedA', 'failedB'] as const) {
      const started = await startFlow(people[key]);
      flows[key] = started.flowId;
      await openLink(started.authUrl);
      await completeSandboxFlow(gw.runtime, flows[key], { success: false, reason: '人脸比对未通过' });
      await until('a dead notification', async () => (await deliveryStatus(flows[key])) === 'DEAD');
    }

    const pending = await startFlow(people.pending);
    flows.pending = pending.flowId;
    await openLink(pending.authUrl);
    expect((await startFlow(people.pending)).flowId).toBe(flows.pending);
    // Reused and verified answers reach the hourly statistics in batches (every 5 s): write them now.
    await gw.runtime.eventStats.flush();

    const actor = { kind: 'cli' as const, id: 'console-test' };
    for (const [username, role] of [
      ['ops', 'admin'],
      ['watcher', 'viewer'],
    ] as const) {
      const created = await createOperator(gw.runtime, actor, { username, role });
      passwords[username] = created.oneTimePassword ?? '';
      recordSecret(passwords[username]);
    }
    recordSecret(NEW_PASSWORD);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    admin = await newContext();
    page = await admin.newPage();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await setup?.close();
  });

  it('serves the console with a strict CSP; an operator logs in and must change the password first', async () => {
    const res = await page.goto(consoleUrl());
    expect(res?.status()).toBe(200);
    const csp = res?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(res?.headers()['referrer-policy']).toBe('no-referrer');
    await page.waitForURL(/#\/login/);
    await page.locator('input[name=username]').waitFor();
    await page.screenshot({ path: shot('login') });

    const anonymous = await apiFromPage(page, 'GET', '/console/api/overview?range=24h');
    expect(anonymous.status).toBe(401);
    expect(anonymous.cacheControl).toContain('no-store');

    await login(page, 'ops', passwords.ops);
    await page.waitForURL(/#\/password/);
    await page.getByText('首次登录或密码已被重置，请先设置新密码').waitFor();
    await page.screenshot({ path: shot('password-change') });
    // Until the password is changed, nothing else answers.
    const early = await apiFromPage(page, 'GET', '/console/api/overview?range=24h');
    expect(early.status).toBe(403);

    await changePassword(page, passwords.ops);
    expect(await page.getByTestId('operator').textContent()).toContain('ops');
    expect(await cspViolations(page)).toEqual([]);
  });

  it('overview draws the flows made through the API: outcomes, funnel, upstream calls, deliveries', async () => {
    await page.goto(consoleUrl('#/overview'));
    const newFlows = page.locator('.stat', { hasText: '新建流程' });
    await expect.poll(() => newFlows.locator('.value').textContent()).toBe('4');
    expect(await newFlows.locator('.hint').textContent()).toBe('复用 1，已实名 1');
    const succeeded = page.locator('.stat', { hasText: '认证成功' });
    expect(await succeeded.locator('.value').textContent()).toBe('1');
    expect(await succeeded.locator('.hint').textContent()).toContain('失败 2');

    // Canvas pixels in the series' colours (ECharts animates in, hence the polling).
    const drawn = { timeout: 5_000 };
    await expect
      .poll(
        async () => (await paintedPixels(page, 'outcomes', [BLUE, GREEN, RED])).every((n) => n > 20),
        drawn,
      )
      .toBe(true);
    await expect
      .poll(async () => (await paintedPixels(page, 'funnel', [BLUE, GREEN])).every((n) => n > 20), drawn)
      .toBe(true);
    await expect
      .poll(async () => (await paintedPixels(page, 'upstream', [GREEN]))[0] ?? 0, drawn)
      .toBeGreaterThan(20);
    await expect
      .poll(async () => (await paintedPixels(page, 'deliveries', [GREEN, RED])).every((n) => n > 20), drawn)
      .toBe(true);

    const clientRow = page.getByTestId('client-stats').locator('.el-table__row', { hasText: 'acme' });
    expect(await clientRow.locator('td').nth(1).textContent()).toBe('4');
    expect(await clientRow.locator('td').nth(2).textContent()).toBe('33.3%');
    await page.screenshot({ path: shot('overview'), fullPage: true });

    // Usable at 1024 wide: nothing pushes the page sideways.
    await page.setViewportSize({ width: 1024, height: 900 });
    await page.waitForTimeout(300);
    const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    expect(widths).toEqual([1024, 1024]);
    await page.screenshot({ path: shot('overview-1024'), fullPage: true });
    await page.setViewportSize({ width: 1440, height: 900 });

    // A custom range as the picker sends it: whole Beijing days.
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
    const custom = new URLSearchParams({
      range: 'custom',
      from: `${today}T00:00:00+08:00`,
      until: `${today}T23:59:59+08:00`,
    });
    const day = await apiFromPage(page, 'GET', `/console/api/overview?${custom}`);
    expect(day.status).toBe(200);
    expect((day.body.data as { bucket: string }).bucket).toBe('hour');

    await page.getByText('近 7 天', { exact: true }).click();
    await expect.poll(() => page.locator('.el-card__header', { hasText: '流程数（按天' }).count()).toBe(1);
    expect(await cspViolations(page)).toEqual([]);
  });

  it('finds a flow by ID number and shows its data masked', async () => {
    const p = people.failedA;
    await page.goto(consoleUrl('#/flows'));
    await page.getByTestId('flows').locator('.el-table__row').first().waitFor();
    await page.screenshot({ path: shot('flows'), fullPage: true });

    await page.locator('input[name=idNumber]').fill(p.idNumber);
    const [search] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/console/api/flows/search')),
      page.getByRole('button', { name: '查询' }).click(),
    ]);
    expect(search.status()).toBe(200);
    // The ID number travels in the body, never in a URL.
    expect(search.url().includes(p.idNumber)).toBe(false);
    const rows = page.getByTestId('flows').locator('.el-table__row');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().locator('td').first().textContent()).toBe(flows.failedA);
    expect(await rows.first().textContent()).toContain(maskedId(p));
    await page.locator('input[name=idNumber]').fill('');
    expectNoPersonalData(await page.content(), p);
  });

  it('flow detail: the timeline tells the flow’s story, notification attempts included', async () => {
    await page.goto(consoleUrl('#/flows'));
    await page.locator('input[name=idNumber]').fill(people.failedA.idNumber);
    await page.getByRole('button', { name: '查询' }).click();
    await expect.poll(() => page.getByTestId('flows').locator('.el-table__row').count()).toBe(1);
    await page.getByTestId('flows').locator('.el-table__row').first().click();
    await page.waitForURL(new RegExp(`#/flows/${flows.failedA}$`));

    const items = page.getByTestId('timeline').locator('.el-timeline-item');
    await expect.poll(() => items.count()).toBe(6);
    const kinds = await items.evaluateAll((els) => els.map((el) => el.getAttribute('data-kind')));
    expect(kinds).toEqual([
      'created',
      'opened',
      'result',
      'delivery_attempt',
      'delivery_attempt',
      'delivery_attempt',
    ]);
    expect(await items.nth(2).textContent()).toContain('认证结果：认证失败');
    expect(await items.nth(2).textContent()).toContain('人脸比对未通过');
    expect(await items.nth(3).textContent()).toMatch(/结果通知第 1 次发送：HTTP 500，耗时 \d+ ms/);
    expect(await page.getByTestId('person-id').textContent()).toBe(maskedId(people.failedA));
    expectNoPersonalData(await page.content(), people.failedA);
    await page.screenshot({ path: shot('flow-detail'), fullPage: true });
  });

  it('redelivers a dead notification from the flow page once the endpoint is back', async () => {
    receiver.respond = () => 204;
    const before = receiver.received.length;
    await page.goto(consoleUrl(`#/flows/${flows.failedA}`));
    const row = page.getByTestId('deliveries').locator('.el-table__row').first();
    expect(await row.textContent()).toContain('已放弃');
    await row.getByRole('button', { name: '重新发送' }).click();
    await receiver.waitFor(before + 1);
    await expect.poll(() => deliveryStatus(flows.failedA), { timeout: 10_000 }).toBe('DELIVERED');
    await page.reload();
    await expect.poll(() => row.textContent()).toContain('已送达');
    // Three refused attempts, then the redelivered one answered.
    const attempts = page.getByTestId('timeline').locator('.el-timeline-item[data-kind=delivery_attempt]');
    await expect.poll(() => attempts.count()).toBe(4);
    expect(await attempts.last().textContent()).toMatch(/结果通知第 \d+ 次发送：HTTP 204，耗时 \d+ ms$/);
  });

  it('deliveries page: the dead notification left, redelivered with all of its client’s; a reveal needs a reason and leaves an audit entry', async () => {
    await page.goto(consoleUrl('#/deliveries'));
    const rows = page.getByTestId('deliveries').locator('.el-table__row');
    // (Until the route changes, the flow page's own delivery table is still on screen.)
    await page.getByRole('heading', { name: '结果通知' }).waitFor();
    await expect.poll(() => rows.allTextContents()).toEqual([expect.stringContaining(flows.failedB)]);
    await page.screenshot({ path: shot('deliveries'), fullPage: true });

    // All of a client's failed notifications at once (the endpoint answers again since the last test).
    await page.locator('.toolbar .el-select').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: 'acme' }).click();
    await page.getByTestId('redeliver-client').click();
    await page.locator('.el-message-box').getByRole('button', { name: '重新发送' }).click();
    await page.getByText('已重新排队 1 条通知').waitFor();
    await expect.poll(() => deliveryStatus(flows.failedB), { timeout: 10_000 }).toBe('DELIVERED');
    await expect.poll(() => rows.count()).toBe(0);

    const p = people.failedB;
    await page.goto(consoleUrl(`#/flows/${flows.failedB}`));
    await page.getByTestId('reveal').click();
    const dialog = page.getByTestId('reveal-dialog');
    await dialog.locator('textarea[name=reason]').fill('核对');
    expect(await page.getByTestId('reveal-confirm').isDisabled()).toBe(true);
    // The server refuses a short reason as well, whatever the page allows.
    const short = await apiFromPage(
      page,
      'POST',
      `/console/api/flows/${flows.failedB}/reveal`,
      { reason: 'abc' },
      await csrfOf(page),
    );
    expect(short.status).toBe(400);
    // And a reveal without the CSRF token.
    const forged = await apiFromPage(page, 'POST', `/console/api/flows/${flows.failedB}/reveal`, {
      reason: '车主来电核对身份',
    });
    expect(forged.status).toBe(403);

    const reason = '车主来电投诉，核对身份信息';
    await dialog.locator('textarea[name=reason]').fill(reason);
    await page.screenshot({ path: shot('reveal-dialog') });
    await page.getByTestId('reveal-confirm').click();
    await page.getByTestId('revealed').waitFor();
    expectSame(await page.getByTestId('person-id').textContent(), p.idNumber, 'ID number');
    expectSame(await page.getByTestId('person-name').textContent(), p.name, 'name');
    expectSame(await page.getByTestId('person-mobile').textContent(), p.mobile, 'mobile');

    await page.goto(consoleUrl('#/audit'));
    const entry = page.getByTestId('audit').locator('.el-table__row', { hasText: '查看个人信息' }).first();
    await entry.waitFor();
    const text = (await entry.textContent()) ?? '';
    expect(text).toContain('ops');
    expect(text).toContain(flows.failedB);
    expect(text).toContain(reason);
    await page.screenshot({ path: shot('audit'), fullPage: true });
    expect(await cspViolations(page)).toEqual([]);
  });

  it('creates a token shown once, which works until it is revoked', async () => {
    await page.goto(consoleUrl('#/clients'));
    await page.getByTestId('clients').locator('.el-table__row', { hasText: 'acme' }).waitFor();
    await page.getByTestId('create-token').click();
    const dialog = page.getByRole('dialog', { name: '新建访问令牌' });
    await dialog.locator('.el-select').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: 'acme' }).click();
    const [created] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/console/api/tokens') && r.request().method() === 'POST'),
      page.getByTestId('create-token-confirm').click(),
    ]);
    const { tokenId } = (await created.json()).data.token as { tokenId: string };
    const secret = (await page.getByTestId('secret').textContent())?.trim() ?? '';
    recordSecret(secret);
    expect(secret).toMatch(/^[A-Za-z0-9]{32}$/);
    await page.screenshot({ path: shot('token-created') });
    await page.getByRole('button', { name: '我已保存' }).click();

    const query = () => api({ url: gw.url, token: secret }, 'GET', `${FACE}/${flows.success}`);
    expect((await query()).status).toBe(200);

    const row = page.getByTestId('tokens').locator('.el-table__row', { hasText: tokenId });
    expect(await row.textContent()).toContain('有效');
    const activeTokens = page
      .getByTestId('clients')
      .locator('.el-table__row', { hasText: 'acme' })
      .locator('td')
      .nth(2);
    await expect.poll(() => activeTokens.textContent()).toBe('2');
    await page.screenshot({ path: shot('clients'), fullPage: true });
    await row.getByTestId('revoke-token').click();
    await page.locator('.el-message-box').getByRole('button', { name: '吊销' }).click();
    await expect.poll(() => row.textContent()).toContain('已吊销');
    await expect.poll(() => activeTokens.textContent()).toBe('1');
    expect((await query()).status).toBe(401);
    expect(await cspViolations(page)).toEqual([]);
  });

  it('a viewer sees masked flows but cannot reveal, redeliver or open the admin pages; a lost session leads to login; logout', async () => {
    const context = await newContext();
    const viewer = await context.newPage();
    await login(viewer, 'watcher', passwords.watcher);
    await changePassword(viewer, passwords.watcher);
    const menu = await viewer.locator('.el-menu-item').allTextContents();
    expect(menu.map((t) => t.trim())).toEqual(['概览', '认证流程', '结果通知']);

    await viewer.goto(consoleUrl(`#/flows/${flows.failedB}`));
    await viewer.getByTestId('reveal').waitFor();
    expect(await viewer.getByTestId('reveal').isDisabled()).toBe(true);
    expect(await viewer.getByTestId('person-id').textContent()).toBe(maskedId(people.failedB));
    expectNoPersonalData(await viewer.content(), people.failedB);
    await viewer.screenshot({ path: shot('viewer-flow-detail'), fullPage: true });

    const csrf = await csrfOf(viewer);
    const reveal = await apiFromPage(
      viewer,
      'POST',
      `/console/api/flows/${flows.failedB}/reveal`,
      { reason: '只是看看而已' },
      csrf,
    );
    expect(reveal.status).toBe(403);
    expect(reveal.body.data).toBeNull();
    expect((await apiFromPage(viewer, 'GET', '/console/api/tokens')).status).toBe(403);
    expect((await apiFromPage(viewer, 'GET', '/console/api/audit')).status).toBe(403);

    for (const hash of ['#/clients', '#/audit']) {
      await viewer.goto(consoleUrl(hash));
      await viewer.getByTestId('forbidden').waitFor();
    }
    await viewer.screenshot({ path: shot('viewer-forbidden') });

    // A session that ends under the page (expired, operator disabled): the next call leads to login.
    await viewer.goto(consoleUrl('#/flows'));
    await viewer.getByTestId('flows').locator('.el-table__row').first().waitFor();
    await context.clearCookies();
    await viewer.getByRole('button', { name: '查询' }).click();
    await viewer.waitForURL(/#\/login\?next=/);

    // Logging out ends the session on the server too.
    await login(viewer, 'watcher', NEW_PASSWORD);
    await viewer.waitForURL(/#\/overview/);
    await viewer.getByRole('button', { name: '退出登录' }).click();
    await viewer.waitForURL(/#\/login/);
    expect((await apiFromPage(viewer, 'GET', '/console/api/session')).status).toBe(401);
    await context.close();
  });

  it('throttles wrong passwords: 429 after 5 failures, even for the right password', async () => {
    const context = await newContext();
    const p = await context.newPage();
    for (let i = 1; i <= 5; i++) {
      await login(p, 'ops', `wrong-password-${i}`);
      await p.getByText('用户名或密码错误').waitFor();
    }
    await login(p, 'ops', NEW_PASSWORD);
    await p.getByText('登录失败次数过多，请稍后再试').waitFor();
    await p.screenshot({ path: shot('login-throttled') });
    const direct = await apiFromPage(p, 'POST', '/console/api/session', {
      username: 'ops',
      password: NEW_PASSWORD,
    });
    expect(direct.status).toBe(429);
    await context.close();
    expect(problems).toEqual([]);
  });
});
