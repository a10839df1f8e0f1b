import { computed, type Ref, ref, shallowRef } from 'vue';

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * Cursor pagination for a list page: the cursors of the pages already seen make "previous" work
 * without the server counting rows.
 */
export function useCursorPages<T>(fetchPage: (cursor: string | undefined) => Promise<Page<T>>) {
  const items = shallowRef<T[]>([]) as Ref<T[]>;
  const loading = ref(false);
  const error = ref('');
  const seen = ref<(string | undefined)[]>([]);
  const nextCursor = ref<string | null>(null);

  async function show(cursor: string | undefined): Promise<boolean> {
    loading.value = true;
    error.value = '';
    try {
      const page = await fetchPage(cursor);
      items.value = page.items;
      nextCursor.value = page.nextCursor;
      return true;
    } catch (err) {
      error.value = (err as Error).message;
      return false;
    } finally {
      loading.value = false;
    }
  }

  return {
    items,
    loading,
    error,
    hasPrev: computed(() => seen.value.length > 1),
    hasNext: computed(() => nextCursor.value !== null),
    pageNumber: computed(() => seen.value.length),
    /** From the first page again (after the filters changed or an action). */
    async reload() {
      seen.value = [undefined];
      await show(undefined);
    },
    async next() {
      const cursor = nextCursor.value ?? undefined;
      if (cursor && (await show(cursor))) seen.value = [...seen.value, cursor];
    },
    async prev() {
      const back = seen.value.slice(0, -1);
      if (back.length && (await show(back.at(-1)))) seen.value = back;
    },
  };
}

export type CursorPages = ReturnType<typeof useCursorPages<unknown>>;
