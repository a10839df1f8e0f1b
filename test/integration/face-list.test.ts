import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeSandboxFlow } from '../../src/services/flows/sandbox.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/databases.js';
import { api, FACE, startGateway, type TestGateway } from '../support/gateway.js';
import { person } from '../support/people.js';

describe.each(await storeKinds())('listing a client’s flows on %s', (kind) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let seed = kind === 'sqlite' ? 70_000 : 71_000;
  const next = () => person(seed++);
  /** flowIds in creation order. */
  const created: string[] = [];

  const start = async () => {
    const r = await api(gw, 'POST', FACE, next());
    expect(r.status).toBe(200);
    created.push(r.body.data.flowId);
    return r.body.data.flowId as string;
  };
  const list = async (query: string) => {
    const r = await api(gw, 'GET', `${FACE}?${query}`);
    expect(r.status).toBe(200);
    return r.body.data as { items: { flowId: string; status: string }[]; nextCursor: string | null };
  };
  /** Every flow the listing yields, page by page. */
  const all = async (query: string, limit: number) => {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await list(`${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(limit);
      ids.push(...page.items.map((i) => i.flowId));
      cursor = page.nextCursor;
    } while (cursor);
    return ids;
  };

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    // A frozen clock makes several flows share one creation millisecond: the id breaks the tie.
    gw = await startGateway({ db, frozenClock: true, env: { RATE_LIMIT_PER_TOKEN: '100000' } });
    for (let i = 0; i < 3; i++) await start();
    gw.advance(1000);
    for (let i = 0; i < 4; i++) await start();
    gw.advance(1000);
    // Another client's flow is never listed.
    const other = { url: gw.url, token: await gw.newClient(`lister-${kind}`) };
    expect((await api(other, 'POST', FACE, next())).status).toBe(200);
  });
  afterAll(async () => {
    await gw?.close();
    await db?.drop();
  });

  it('lists newest first in the same item shape as the single query, 20 per page by default', async () => {
    const page = await list('');
    expect(page.nextCursor).toBeNull();
    expect(page.items).toHaveLength(7);
    expect(new Set(page.items.map((i) => i.flowId))).toEqual(new Set(created));
    const createdAt = page.items.map((i) => Date.parse((i as unknown as { createdAt: string }).createdAt));
    expect([...createdAt].sort((a, b) => b - a)).toEqual(createdAt);
    for (const item of page.items) {
      expect(item).toEqual((await api(gw, 'GET', `${FACE}/${item.flowId}`)).body.data);
    }
  });

  it('pages with a stable cursor: flows created between pages neither repeat nor shift the listing', async () => {
    const first = await list('limit=3');
    expect(first.items).toHaveLength(3);
    const expected = (await list('')).items.map((i) => i.flowId);
    const fresh = await start();
    const rest: string[] = [];
    let cursor = first.nextCursor;
    while (cursor) {
      const page = await list(`limit=3&cursor=${cursor}`);
      rest.push(...page.items.map((i) => i.flowId));
      cursor = page.nextCursor;
    }
    expect([...first.items.map((i) => i.flowId), ...rest]).toEqual(expected);
    expect((await list('limit=1')).items[0]?.flowId).toBe(fresh);
    expect(await all('', 2)).toEqual([fresh, ...expected]);
  });

  it('filters by status and creation time', async () => {
    const [a, b] = created;
    await completeSandboxFlow(gw.runtime, a ?? '', { success: true });
    await completeSandboxFlow(gw.runtime, b ?? '', { success: false, reason: '活体检测未通过' });
    expect((await list('status=SUCCESS')).items.map((i) => i.flowId)).toEqual([a]);
    expect((await list('status=FAILED')).items.map((i) => i.flowId)).toEqual([b]);
    expect((await list('status=PENDING')).items).toHaveLength(created.length - 2);
    expect((await list('status=EXPIRED')).items).toEqual([]);

    const newest = (await list('limit=1')).items[0] as unknown as { createdAt: string };
    const since = encodeURIComponent(newest.createdAt);
    expect((await list(`since=${since}`)).items.map((i) => i.flowId)).toEqual([created[created.length - 1]]);
    expect((await list(`until=${since}`)).items).toHaveLength(created.length - 1);
    // Typed into a URL unencoded, the offset's `+` arrives as a space: still the same time.
    expect(newest.createdAt).toMatch(/\+08:00$/);
    expect((await list(`since=${newest.createdAt}`)).items.map((i) => i.flowId)).toEqual([
      created[created.length - 1],
    ]);

    // Past their expiry, pending flows read EXPIRED before the sweep stores it.
    gw.advance(31 * 60_000);
    expect((await list('status=PENDING')).items).toEqual([]);
    expect(new Set((await list('status=EXPIRED')).items.map((i) => i.status))).toEqual(new Set(['EXPIRED']));
    expect((await list('status=EXPIRED')).items).toHaveLength(created.length - 2);
  });

  it('names every bad parameter at once', async () => {
    const r = await api(
      gw,
      'GET',
      `${FACE}?status=DONE&since=yesterday&until=2026-11-28&limit=101&cursor=abc`,
    );
    expect(r.status).toBe(400);
    expect(r.body.data).toEqual({
      errors: [
        {
          field: 'status',
          code: 'ENUM',
          message: 'status 须为 PENDING、SUCCESS、FAILED、EXPIRED、SUPERSEDED 之一',
        },
        {
          field: 'since',
          code: 'DATE_FORMAT',
          message: 'since 须为带时区的 ISO 8601 时间，例如 2026-11-28T00:00:00+08:00',
        },
        {
          field: 'until',
          code: 'DATE_FORMAT',
          message: 'until 须为带时区的 ISO 8601 时间，例如 2026-11-28T00:00:00+08:00',
        },
        { field: 'limit', code: 'RANGE', message: 'limit 须为1–100的整数' },
        { field: 'cursor', code: 'CURSOR', message: 'cursor 无效，请使用上一页返回的 nextCursor' },
      ],
    });
  });
});
