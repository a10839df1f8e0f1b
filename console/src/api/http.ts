import {
  type BodyOf,
  CSRF_HEADER,
  type ParamsOf,
  type QueryOf,
  type ResponseOf,
  ROUTES,
  type RouteName,
} from '../../../src/http/console/contract.ts';

/** A failed call: the envelope's code and Chinese message, and field errors when there are any. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly responseCode: string,
    message: string,
    readonly fieldErrors: { field: string; code: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Part<K extends string, T> = [T] extends [undefined] ? { [P in K]?: never } : { [P in K]: T };
type OptionalPart<K extends string, T> = [T] extends [undefined] ? { [P in K]?: never } : { [P in K]?: T };

/** What a call takes: path parameters, query and body exactly as the contract types them. */
export type CallInput<N extends RouteName> = Part<'params', ParamsOf<N>> &
  OptionalPart<'query', QueryOf<N>> &
  Part<'body', BodyOf<N>>;

type NeedsInput<N extends RouteName> = [ParamsOf<N>] extends [undefined]
  ? [BodyOf<N>] extends [undefined]
    ? false
    : true
  : true;

let csrfToken = '';
let onUnauthorized: () => void = () => {};

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Where a 401 leads (the login page): set once by the router. */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

function urlOf(path: string, params?: Record<string, string>, query?: Record<string, unknown>): string {
  const filled = path.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(params?.[name] ?? ''));
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const qs = search.toString();
  return qs ? `${filled}?${qs}` : filled;
}

/** Calls one console API route and returns the envelope's `data`, typed by the contract. */
export async function call<N extends RouteName>(
  name: N,
  ...[input]: NeedsInput<N> extends true ? [CallInput<N>] : [CallInput<N>?]
): Promise<ResponseOf<N>> {
  const route = ROUTES[name];
  const { params, query, body } = (input ?? {}) as {
    params?: Record<string, string>;
    query?: Record<string, unknown>;
    body?: unknown;
  };
  const headers: Record<string, string> = { accept: 'application/json' };
  if (route.stateChanging || route.method !== 'GET') headers[CSRF_HEADER] = csrfToken;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(urlOf(route.path, params, query), {
      method: route.method,
      headers,
      credentials: 'same-origin',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(0, 'NETWORK', '无法连接服务器，请检查网络');
  }
  const envelope = (await response.json().catch(() => null)) as {
    responseCode?: string;
    responseMsg?: string;
    data?: unknown;
  } | null;
  if (response.ok && envelope?.responseCode === '000') return envelope.data as ResponseOf<N>;
  if (response.status === 401 && name !== 'login') onUnauthorized();
  const errors = (envelope?.data as { errors?: ApiError['fieldErrors'] } | null)?.errors ?? [];
  // Field errors say what to fix; the envelope's message only that something was wrong.
  const message = errors.length
    ? errors.map((e) => e.message).join('；')
    : (envelope?.responseMsg ?? `请求失败（HTTP ${response.status}）`);
  throw new ApiError(response.status, envelope?.responseCode ?? String(response.status), message, errors);
}
