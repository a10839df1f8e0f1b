import type { Runtime } from '../../src/runtime.js';
import { createOperator } from '../../src/services/console/operator-accounts.js';
import { recordSecret } from './paths.js';

export interface ConsoleResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read many response shapes; each assertion pins the exact value.
  body: { requestId: string; responseCode: string; responseMsg: string; data: any };
  text: string;
}

/** A browser's view of the console API: the session cookie and the CSRF token it was given. */
export class ConsoleClient {
  cookie: string | null = null;
  csrf: string | null = null;

  constructor(readonly baseUrl: string) {}

  async call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
    opts: { csrf?: boolean } = {},
  ): Promise<ConsoleResponse> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.cookie) headers.cookie = this.cookie;
    if ((opts.csrf ?? true) && this.csrf) headers['x-csrf-token'] = this.csrf;
    const res = await fetch(`${this.baseUrl}/console/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const setCookie = res.headers.get('set-cookie');
    if (setCookie) {
      const [pair] = setCookie.split(';');
      this.cookie = pair?.endsWith('=') ? null : (pair ?? null);
      if (this.cookie) recordSecret(this.cookie.split('=')[1] ?? '');
    }
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: JSON.parse(text), text };
  }

  async login(username: string, password: string): Promise<ConsoleResponse> {
    const r = await this.call('POST', '/session', { username, password });
    if (r.status === 200) {
      this.csrf = r.body.data.csrfToken;
      recordSecret(r.body.data.csrfToken);
    }
    return r;
  }
}

/**
 * An operator created as `operator create --password-stdin` would, logged in and past the forced
 * password change: ready to use the console.
 */
export async function operatorSession(
  runtime: Runtime,
  baseUrl: string,
  username: string,
  role: 'admin' | 'viewer',
): Promise<ConsoleClient> {
  const initial = `initial-pw-${[...username].reverse().join('')}`;
  const chosen = `chosen-password-${[...username].reverse().join('')}`;
  recordSecret(initial);
  recordSecret(chosen);
  await createOperator(runtime, { kind: 'cli', id: 'test' }, { username, role, password: initial });
  const client = new ConsoleClient(baseUrl);
  const login = await client.login(username, initial);
  if (login.status !== 200) throw new Error(`login failed: ${login.text}`);
  const changed = await client.call('POST', '/session/password', {
    currentPassword: initial,
    newPassword: chosen,
  });
  if (changed.status !== 200) throw new Error(`password change failed: ${changed.text}`);
  return client;
}
