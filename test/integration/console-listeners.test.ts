import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_PAGE_HEADERS } from '../../src/http/console/contract.js';
import { runCli } from '../support/cli-run.js';
import { ConsoleClient } from '../support/console-client.js';
import { freePort } from '../support/gateway.js';
import { recordSecret, tempDir } from '../support/paths.js';
import { type GatewayProcess, spawnGateway } from '../support/process.js';

/** The built gateway as operators run it: `serve` with ADMIN_PORT, and the operator commands. */
describe('ADMIN_PORT and the operator CLI', () => {
  let gw: GatewayProcess;
  let adminUrl: string;
  const env = { DATA_DIR: tempDir('console-cli'), LOG_LEVEL: 'warn' };
  beforeAll(async () => {
    const adminPort = await freePort();
    adminUrl = `http://127.0.0.1:${adminPort}`;
    gw = await spawnGateway({ ...env, LOG_LEVEL: 'info', ADMIN_PORT: String(adminPort) });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('serves the console, its API and /metrics only on the admin listener', async () => {
    for (const path of ['/console/', '/console/api/session', '/metrics', '/console']) {
      const r = await fetch(`${gw.url}${path}`, { redirect: 'manual' });
      expect({ path, status: r.status }).toEqual({ path, status: 404 });
      expect(await r.json()).toMatchObject({ responseCode: '404', responseMsg: '接口不存在' });
    }
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);

    expect((await fetch(`${adminUrl}/metrics`)).status).toBe(200);
    expect((await fetch(`${adminUrl}/console/api/session`)).status).toBe(401);
    const redirect = await fetch(`${adminUrl}/console`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([302, '/console/']);
    for (const path of ['/console/', '/console/overview']) {
      const page = await fetch(`${adminUrl}${path}`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.headers.get('content-security-policy')).toBe(
        CONSOLE_PAGE_HEADERS['content-security-policy'],
      );
      expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      const html = await page.text();
      expect(html).toContain('<div id="app"></div>');
      // No inline script: every script tag loads a file of the gateway's own.
      for (const tag of html.match(/<script[^>]*>[^<]*<\/script>/g) ?? []) {
        expect(tag).toMatch(
          /^<script type="module" crossorigin src="\/console\/assets\/[^"]+\.js"><\/script>$/,
        );
      }
      const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      const js = await fetch(`${adminUrl}${asset}`);
      expect([js.status, js.headers.get('cache-control')]).toEqual([
        200,
        'public, max-age=31536000, immutable',
      ]);
    }
  });

  it('creates, lists, resets and disables operators; a disabled operator is logged out at once', async () => {
    const created = await runCli(['operator', 'create', 'ops', '--role', 'admin'], env);
    expect(created.code).toBe(0);
    const oneTime = created.stdout.trim();
    recordSecret(oneTime);
    expect(oneTime).toMatch(/^[0-9A-Za-z]{16}$/);
    expect(created.stderr).toContain('operator "ops" (admin) created');

    const c = new ConsoleClient(adminUrl);
    expect((await c.login('ops', oneTime)).body.data).toMatchObject({
      mustChangePassword: true,
      role: 'admin',
    });
    expect((await runCli(['operator', 'create', 'ops', '--role', 'viewer'], env)).code).toBe(1);
    expect((await runCli(['operator', 'create', 'eve', '--role', 'root'], env)).stderr).toContain(
      'role must be admin or viewer',
    );
    const piped = await runCli(
      ['operator', 'create', 'viv', '--role', 'viewer', '--password-stdin'],
      env,
      'piped-password-1\n',
    );
    recordSecret('piped-password-1');
    expect([piped.code, piped.stdout]).toEqual([0, '']);
    expect((await new ConsoleClient(adminUrl).login('viv', 'piped-password-1')).status).toBe(200);
    const short = await runCli(
      ['operator', 'create', 'sam', '--role', 'viewer', '--password-stdin'],
      env,
      'short\n',
    );
    expect(short.code).toBe(1);

    const list = await runCli(['operator', 'list'], env);
    expect(
      list.stdout
        .split('\n')
        .slice(0, 3)
        .map((l) => l.split(/\s+/).slice(0, 3).join(' ')),
    ).toEqual(['username role status', 'ops admin must-change-password', 'viv viewer must-change-password']);

    const reset = await runCli(['operator', 'reset-password', 'ops'], env);
    const fresh = reset.stdout.trim();
    recordSecret(fresh);
    expect(fresh).toMatch(/^[0-9A-Za-z]{16}$/);
    expect((await c.call('GET', '/session')).status).toBe(401);
    expect((await new ConsoleClient(adminUrl).login('ops', oneTime)).status).toBe(401);
    expect((await c.login('ops', fresh)).status).toBe(200);

    expect((await runCli(['operator', 'disable', 'ops'], env)).stdout).toBe('disabled ops\n');
    expect((await c.call('GET', '/session')).status).toBe(401);
    expect((await runCli(['operator', 'disable', 'nobody'], env)).code).toBe(1);
    expect((await runCli(['operator', 'list'], env)).stdout).toMatch(/\nops +admin +disabled /);
  });
});
