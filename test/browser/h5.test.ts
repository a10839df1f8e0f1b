import fs from 'node:fs';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, FACE, startGateway, type TestGateway } from '../support/gateway.js';
import { ARTIFACTS } from '../support/paths.js';
import { person, type TestPerson } from '../support/people.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
const mustRun = process.env.CI === 'true';
if (!haveChromium && !mustRun)
  console.log(`${CHROMIUM} not found: skipping the browser tests of the H5 pages`);

const shot = (name: string) => path.join(ARTIFACTS, name);

/** What the page shows instead of the person's data (see src/domain/identity/mask.ts). */
const masked = (p: TestPerson) => ({
  name: `${'*'.repeat(Array.from(p.name).length - 1)}${Array.from(p.name).at(-1)}`,
  idNumber: `${p.idNumber.slice(0, 4)}**********${p.idNumber.slice(14)}`,
});

/**
 * Asserts without printing: a failing `toContain` would put the person's data into the test output.
 */
function expectNoPersonalData(html: string, p: TestPerson): void {
  const leaked = (['name', 'idNumber', 'mobile'] as const).filter((k) => html.includes(p[k]));
  expect(leaked, 'fields of the person found unmasked in the page').toEqual([]);
}

/** The page is laid out for the phone: nothing wider than the screen, tappable controls. */
async function expectPhoneLayout(page: Page): Promise<void> {
  const layout = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    lang: document.documentElement.lang,
    viewport: document.querySelector('meta[name=viewport]')?.getAttribute('content') ?? '',
    smallText: [...document.querySelectorAll('p, span, label, h1, button, select, option')]
      .filter((el) => (el as HTMLElement).offsetParent !== null)
      .map((el) => Number.parseFloat(getComputedStyle(el).fontSize))
      .filter((size) => size < 14),
    smallTargets: [...document.querySelectorAll('button, select, input[type=checkbox]')]
      .map((el) => el.getBoundingClientRect())
      .filter((r) => r.height < 20 || r.width < 20).length,
  }));
  expect(layout.innerWidth).toBe(390);
  expect(layout.scrollWidth).toBeLessThanOrEqual(layout.innerWidth);
  expect(layout.lang).toBe('zh-CN');
  expect(layout.viewport).toContain('width=device-width');
  expect(layout.smallText).toEqual([]);
  expect(layout.smallTargets).toBe(0);
}

if (!haveChromium && mustRun) {
  describe('sandbox H5 pages in Chromium', () => {
    it('needs Chromium', () => {
      throw new Error(`CI=true but ${CHROMIUM} is missing: install Debian's chromium package`);
    });
  });
}

describe.runIf(haveChromium)('sandbox H5 pages in Chromium on a phone', () => {
  let gw: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  const problems: string[] = [];

  beforeAll(async () => {
    gw = await startGateway();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: 'zh-CN',
      timezoneId: 'Asia/Shanghai',
      userAgent:
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
    });
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gw?.close();
  });

  const newPage = async () => {
    const page = await context.newPage();
    // The pages have no scripts; any console error (e.g. a CSP violation) is a defect.
    // (Chromium reports every non-2xx document as "Failed to load resource"; those are expected here.)
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
        problems.push(`console: ${m.text().slice(0, 200)}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message.slice(0, 200)}`));
    return page;
  };

  it('passes face authentication: masked identity, consent required, success page, SUCCESS in the API', async () => {
    const p = person(33_001);
    const start = await api(gw, 'POST', FACE, p);
    expect(start.status).toBe(200);
    const { authUrl, originalUrl, flowId } = start.body.data;
    const page = await newPage();

    const landed = await page.goto(authUrl);
    expect(landed?.status()).toBe(200);
    expect(page.url()).toBe(originalUrl);
    expect(await page.title()).toBe('人脸识别实名认证');
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('人脸识别实名认证');
    expect(await page.getByTestId('name').textContent()).toBe(masked(p).name);
    expect(await page.getByTestId('id-number').textContent()).toBe(masked(p).idNumber);
    expect(await page.getByTestId('name').isVisible()).toBe(true);
    expect(await page.getByTestId('id-number').isVisible()).toBe(true);
    expectNoPersonalData(await page.content(), p);
    await expectPhoneLayout(page);
    await page.screenshot({ path: shot('h5-sandbox-phone.png'), fullPage: true });

    // The browser's own check: the consent box is required, so nothing is submitted.
    const consent = page.getByRole('checkbox');
    expect(await consent.isChecked()).toBe(false);
    await page.getByRole('button', { name: '开始人脸识别' }).click();
    expect(await consent.evaluate((el) => (el as HTMLInputElement).validity.valueMissing)).toBe(true);
    expect(page.url()).toBe(originalUrl);
    expect((await api(gw, 'GET', `${FACE}/${flowId}`)).body.data.status).toBe('PENDING');

    // Without the browser's check (an old browser, a bot): the server refuses too.
    await page.locator('form').evaluate((f) => {
      (f as HTMLFormElement).noValidate = true;
    });
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: '开始人脸识别' }).click(),
    ]);
    expect(refused.status()).toBe(400);
    await page.waitForLoadState();
    expect(page.url()).toBe(originalUrl);
    expect(await page.getByRole('alert').textContent()).toBe('请先阅读并勾选同意人脸信息采集。');
    expect((await api(gw, 'GET', `${FACE}/${flowId}`)).body.data.status).toBe('PENDING');
    expectNoPersonalData(await page.content(), p);
    await page.screenshot({ path: shot('h5-sandbox-consent-error-phone.png'), fullPage: true });

    await page.getByRole('checkbox').check();
    await Promise.all([
      page.waitForURL(`${gw.url}/h5/result/${flowId}`),
      page.getByRole('button', { name: '开始人脸识别' }).click(),
    ]);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('认证成功');
    // Drawn inline, not an emoji that depends on the phone's fonts.
    expect(await page.locator('svg.icon').getAttribute('data-icon')).toBe('success');
    expect(await page.getByText('您已完成实名认证，请返回办理页面继续签署。').isVisible()).toBe(true);
    expectNoPersonalData(await page.content(), p);
    await expectPhoneLayout(page);
    await page.screenshot({ path: shot('h5-result-success-phone.png'), fullPage: true });

    const q = await api(gw, 'GET', `${FACE}/${flowId}`);
    expect(q.status).toBe(200);
    expect(q.body.data).toMatchObject({
      flowId,
      status: 'SUCCESS',
      esignAccountId: expect.stringMatching(/^[0-9a-f]{32}$/),
      openedAt: expect.stringMatching(/\+08:00$/),
      completedAt: expect.stringMatching(/\+08:00$/),
    });
    expect(q.body.data.failReason).toBeUndefined();

    // Done: the link now says the person is verified already, and the same person is answered "verified".
    const again = await page.goto(authUrl);
    expect(again?.status()).toBe(410);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('认证已完成');
    const verified = await api(gw, 'POST', FACE, p);
    expect(verified.body.data).toMatchObject({
      message: 'verified',
      esignAccountId: q.body.data.esignAccountId,
    });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('fails face authentication with the chosen reason; the link then shows 链接已失效 (410)', async () => {
    const p = person(33_002);
    const { authUrl, originalUrl, flowId } = (await api(gw, 'POST', FACE, p)).body.data;
    const page = await newPage();
    await page.goto(authUrl);
    expect(page.url()).toBe(originalUrl);

    const reason = page.getByRole('combobox', { name: '失败原因' });
    expect(await reason.locator('option').allTextContents()).toEqual([
      '人脸比对未通过',
      '活体检测未通过',
      '用户取消认证',
    ]);
    await reason.selectOption('活体检测未通过');
    await page.getByRole('checkbox').check();
    await Promise.all([
      page.waitForURL(`${gw.url}/h5/result/${flowId}`),
      page.getByRole('button', { name: '模拟认证失败' }).click(),
    ]);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('认证未通过');
    expect(await page.locator('svg.icon').getAttribute('data-icon')).toBe('failure');
    expect(await page.getByText('本次人脸识别未通过，请联系办理机构重新获取认证链接。').isVisible()).toBe(
      true,
    );
    await expectPhoneLayout(page);
    await page.screenshot({ path: shot('h5-result-failed-phone.png'), fullPage: true });

    const q = await api(gw, 'GET', `${FACE}/${flowId}`);
    expect(q.body.data).toMatchObject({ flowId, status: 'FAILED', failReason: '活体检测未通过' });
    expect(q.body.data.esignAccountId).toBeUndefined();

    const reopened = await page.goto(authUrl);
    expect(reopened?.status()).toBe(410);
    expect(page.url()).toBe(authUrl);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('链接已失效');
    expect(await page.getByText('如需重新认证，请联系办理机构获取新的链接。').isVisible()).toBe(true);
    expect(await page.locator('svg.icon').getAttribute('data-icon')).toBe('clock');
    await expectPhoneLayout(page);
    await page.screenshot({ path: shot('h5-link-expired-phone.png'), fullPage: true });

    // The provider page itself is closed as well: no second attempt on a finished flow.
    const direct = await page.goto(originalUrl);
    expect(direct?.status()).toBe(410);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('链接已失效');
    expect((await api(gw, 'GET', `${FACE}/${flowId}`)).body.data.status).toBe('FAILED');
    expect(problems).toEqual([]);
    await page.close();
  });
});
