import { describe, expect, it } from 'vitest';
import { useCursorPages } from '../../console/src/cursor-pages.js';

/** Three pages of two: cursor `undefined` → a, b (next "p2") → c, d (next "p3") → e. */
const PAGES: Record<string, { items: string[]; nextCursor: string | null }> = {
  first: { items: ['a', 'b'], nextCursor: 'p2' },
  p2: { items: ['c', 'd'], nextCursor: 'p3' },
  p3: { items: ['e'], nextCursor: null },
};

function pager(fail: Set<string> = new Set()) {
  const asked: (string | undefined)[] = [];
  const pages = useCursorPages(async (cursor) => {
    asked.push(cursor);
    const key = cursor ?? 'first';
    if (fail.has(key)) throw new Error(`页面 ${key} 加载失败`);
    return PAGES[key] ?? { items: [], nextCursor: null };
  });
  return { pages, asked };
}

describe('console cursor pagination', () => {
  it('walks forward and back through the cursors it has seen', async () => {
    const { pages, asked } = pager();
    await pages.reload();
    expect([pages.items.value, pages.pageNumber.value, pages.hasPrev.value, pages.hasNext.value]).toEqual([
      ['a', 'b'],
      1,
      false,
      true,
    ]);
    await pages.next();
    await pages.next();
    expect([pages.items.value, pages.pageNumber.value, pages.hasNext.value]).toEqual([['e'], 3, false]);
    await pages.next();
    expect(pages.pageNumber.value).toBe(3);
    await pages.prev();
    expect([pages.items.value, pages.pageNumber.value]).toEqual([['c', 'd'], 2]);
    await pages.prev();
    expect([pages.items.value, pages.pageNumber.value, pages.hasPrev.value]).toEqual([['a', 'b'], 1, false]);
    expect(asked).toEqual([undefined, 'p2', 'p3', 'p2', undefined]);
  });

  it('stays on the page it shows when the next one fails, and says why', async () => {
    const { pages } = pager(new Set(['p2']));
    await pages.reload();
    await pages.next();
    expect([pages.items.value, pages.pageNumber.value, pages.error.value]).toEqual([
      ['a', 'b'],
      1,
      '页面 p2 加载失败',
    ]);
    expect(pages.loading.value).toBe(false);
  });

  it('starts from the first page again on reload', async () => {
    const { pages, asked } = pager();
    await pages.reload();
    await pages.next();
    await pages.reload();
    expect([pages.items.value, pages.pageNumber.value, pages.error.value]).toEqual([['a', 'b'], 1, '']);
    expect(asked).toEqual([undefined, 'p2', undefined]);
  });
});
