import { computed, ref } from 'vue';
import type { ResponseOf } from '../../src/http/console/contract.ts';
import { ApiError, call, setCsrfToken } from './api/http.ts';

export type Me = ResponseOf<'me'>;

const current = ref<Me | null>(null);

/** The signed-in operator, or null. */
export const me = computed(() => current.value);
export const isAdmin = computed(() => current.value?.role === 'admin');

export function signedIn(value: Me | null): void {
  current.value = value;
  setCsrfToken(value?.csrfToken ?? '');
}

/** Asks the server who is signed in (once per page load); null without a session. */
export async function loadMe(): Promise<Me | null> {
  if (current.value) return current.value;
  try {
    signedIn(await call('me'));
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    signedIn(null);
  }
  return current.value;
}
