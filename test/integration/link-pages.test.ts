import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, FACE, startGateway, type TestGateway } from '../support/gateway.js';
import { person } from '../support/people.js';

/** The visible text of a page: its title, heading and paragraphs, without markup. */
const text = (html: string) =>
  html
    .replace(/<style>[\s\S]*?<\/style>/, '')
    .replace(/<svg[\s\S]*?<\/svg>/g, '')
    .replace(/<[^>]+>/g, '\n')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

const open = async (url: string) => {
  const res = await fetch(url, { redirect: 'manual' });
  return { status: res.status, text: text(await res.text()) };
};

describe('links that no longer lead to a face check', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => gw?.close());

  it('after success, the short and the long link both say the person is verified already (410)', async () => {
    const p = person(41_001);
    const { authUrl, originalUrl } = (await api(gw, 'POST', FACE, p)).body.data;
    const form = new URLSearchParams({ consent: 'yes', result: 'success' });
    const done = await fetch(originalUrl, { method: 'POST', body: form, redirect: 'manual' });
    expect(done.status).toBe(303);
    const short = await open(authUrl);
    const long = await open(originalUrl);
    expect(short).toEqual({
      status: 410,
      text: ['认证已完成', '认证已完成', '您已完成实名认证，无需重复操作，请返回办理页面继续。'],
    });
    expect(long).toEqual(short);
  });

  it('a replaced link says the same on the short and the long link (410)', async () => {
    const p = person(41_002);
    const first = (await api(gw, 'POST', FACE, p)).body.data;
    await api(gw, 'POST', FACE, { ...p, mobile: '13700000002' });
    const short = await open(first.authUrl);
    expect(short).toEqual({
      status: 410,
      text: [
        '链接已失效',
        '链接已失效',
        '该认证链接已过期、已被新的链接替代或认证已结束。',
        '如需重新认证，请联系办理机构获取新的链接。',
      ],
    });
    expect(await open(first.originalUrl)).toEqual(short);
  });

  it('an unknown short and long link get the same 404 page', async () => {
    const short = await open(`${gw.url}/s/AAAAAAAAAAAA`);
    expect(short).toEqual({
      status: 404,
      text: ['链接不存在', '链接不存在', '请检查链接是否完整，或联系办理机构获取新的链接。'],
    });
    expect(await open(`${gw.url}/h5/sandbox/sbx_AAAAAAAAAAAAAAAAAAAAAAAA`)).toEqual(short);
  });
});
