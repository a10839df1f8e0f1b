import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { runCli as cli } from '../support/cli-run.js';
import { FACE } from '../support/gateway.js';
import { ROOT, recordSecret, tempDir } from '../support/paths.js';
import { person, type TestPerson } from '../support/people.js';
import { type GatewayProcess, spawnGateway } from '../support/process.js';

const TOKEN = /^[0-9A-Za-z]{32}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Flow ids are UUIDv7: time-ordered keys (see crypto/random.ts). */
const FLOW_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Every time the CLI prints: ISO 8601 in Beijing time. */
const BEIJING = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/;

/** Only what the test sets: no DATABASE_URL (SQLite default), PORT, keys or provider from outside. */
const cleanEnv = (dataDir: string, extra: Record<string, string> = {}): Record<string, string> => ({
  DATA_DIR: dataDir,
  ...extra,
});

/** `etc-esign serve` on `dataDir`, without PUBLIC_BASE_URL: links use the default http://localhost:PORT. */
const serve = (dataDir: string): Promise<GatewayProcess> =>
  spawnGateway({ DATA_DIR: dataDir, PUBLIC_BASE_URL: undefined });

const call = async (
  url: string,
  token: string,
  method: 'GET' | 'POST',
  p: string,
  body?: unknown,
): Promise<{ status: number; body: { responseCode: string; data: Record<string, unknown> | null } }> => {
  const res = await fetch(url + p, {
    method,
    headers: {
      'etc-token': token,
      'etc-sys-id': 'E02',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
};

describe('etc-esign CLI: clients and tokens', () => {
  const dataDir = tempDir('cli-acme');
  const env = cleanEnv(dataDir);
  let clientId = '';
  let plainToken = '';
  let ttlToken = '';
  let plainTokenId = '';
  let ttlTokenId = '';

  it('client create prints the new client as one JSON object; a second create fails clearly', async () => {
    const r = await cli(['client', 'create', 'acme'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.endsWith('\n')).toBe(true);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    const created = JSON.parse(r.stdout);
    expect(created).toEqual({
      id: expect.stringMatching(UUID),
      name: 'acme',
      sysIds: ['E02'],
      notifyUrl: null,
      createdAt: expect.stringMatching(BEIJING),
    });
    expect(Math.abs(Date.parse(created.createdAt) - Date.now())).toBeLessThan(60_000);
    clientId = created.id;
    // The key file the embedded default created on first use is private to its owner.
    expect(fs.statSync(path.join(dataDir, 'keys.json')).mode & 0o777).toBe(0o600);

    const again = await cli(['client', 'create', 'acme'], env);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe('error: client "acme" already exists\n');

    const badName = await cli(['client', 'create', 'a b'], env);
    expect(badName.code).toBe(1);
    expect(badName.stderr).toBe('error: client name must be 1-64 of [A-Za-z0-9_.-]\n');
  });

  it('client list shows the client', async () => {
    const r = await cli(['client', 'list'], env);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]?.split(/\s+/)).toEqual(['name', 'id', 'sysIds', 'notifyUrl', 'created']);
    const cells = lines[1]?.split(/\s+/) ?? [];
    expect(cells.slice(0, 4)).toEqual(['acme', clientId, 'E02', '-']);
    expect(cells[4]).toMatch(BEIJING);
  });

  it('token create prints the token alone on stdout, and its id and prefix on stderr', async () => {
    const r = await cli(['token', 'create', '--client', 'acme'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[0-9A-Za-z]{32}\n$/);
    plainToken = r.stdout.trimEnd();
    recordSecret(plainToken);
    expect(plainToken).toMatch(TOKEN);
    expect(r.stderr).toMatch(
      /^id tok_[0-9A-Za-z]{12} {2}prefix [0-9A-Za-z]{4} {2}client acme {2}expires -\n$/,
    );
    expect(r.stderr).toContain(`prefix ${plainToken.slice(0, 4)} `);
    plainTokenId = /^id (\S+)/.exec(r.stderr)?.[1] ?? '';

    const ttl = await cli(['token', 'create', '--client', 'acme', '--ttl', '90d'], env);
    expect(ttl.code).toBe(0);
    expect(ttl.stdout).toMatch(/^[0-9A-Za-z]{32}\n$/);
    ttlToken = ttl.stdout.trimEnd();
    recordSecret(ttlToken);
    expect(ttlToken).not.toBe(plainToken);
  });

  it('token create fails for an unknown client and for a malformed --ttl', async () => {
    const nope = await cli(['token', 'create', '--client', 'nope'], env);
    expect(nope.code).toBe(1);
    expect(nope.stdout).toBe('');
    expect(nope.stderr).toBe('error: no client named "nope"\n');

    const badTtl = await cli(['token', 'create', '--client', 'acme', '--ttl', 'forever'], env);
    expect(badTtl.code).not.toBe(0);
    expect(badTtl.stdout).toBe('');
    expect(badTtl.stderr).toContain('use a number and one of s, m, h, d, e.g. 90d');
  });

  it('token list shows ids, owners and expiry but never a token', async () => {
    const r = await cli(['token', 'list'], env);
    expect(r.code).toBe(0);
    // Booleans, not toContain: a failure must not print the tokens.
    expect(r.stdout.includes(plainToken), 'token list shows a token').toBe(false);
    expect(r.stdout.includes(ttlToken), 'token list shows a token').toBe(false);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    expect(header?.split(/\s+/)).toEqual([
      'id',
      'prefix',
      'client',
      'created',
      'expires',
      'revoked',
      'lastUsed',
    ]);
    expect(rows).toHaveLength(2);
    const parsed = rows.map((l) => l.split(/\s+/));
    for (const cells of parsed) {
      expect(cells[0]).toMatch(/^tok_[0-9A-Za-z]{12}$/);
      expect(cells[2]).toBe('acme');
      expect(cells[3]).toMatch(BEIJING);
      expect(cells.slice(5)).toEqual(['-', '-']);
    }
    // The never-expiring token is the first one created; the other expires in 90 days.
    const plain = parsed.find((c) => c[4] === '-');
    const ttl = parsed.find((c) => c[4] !== '-');
    // The prefix tells which row is which token without showing it.
    expect(plain?.slice(0, 2)).toEqual([plainTokenId, plainToken.slice(0, 4)]);
    expect(ttl?.[1]).toBe(ttlToken.slice(0, 4));
    ttlTokenId = ttl?.[0] ?? '';
    expect(ttlTokenId).not.toBe('');
    const ninetyDays = Date.parse(ttl?.[4] ?? '') - Date.parse(ttl?.[3] ?? '');
    expect(ninetyDays).toBe(90 * 86_400_000);
  });

  it('token revoke takes effect at once in a running server; the other token keeps working', async () => {
    const r = await cli(['token', 'revoke', plainTokenId], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`revoked ${plainTokenId}\n`);
    const twice = await cli(['token', 'revoke', plainTokenId], env);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toBe(`error: no active token with id "${plainTokenId}"\n`);

    const server = await serve(dataDir);
    try {
      // Clients exist already: no bootstrap banner, no new token.
      expect(server.banner.filter((l) => l.trim() !== '')).toEqual([]);
      const revoked = await call(server.url, plainToken, 'POST', FACE, person(31_001));
      expect(revoked.status).toBe(401);
      expect(revoked.body.responseCode).toBe('401');
      const ok = await call(server.url, ttlToken, 'POST', FACE, person(31_002));
      expect(ok.status).toBe(200);
      expect(ok.body.data?.message).toBe('success');
      expect(ok.body.data?.authUrl).toMatch(
        new RegExp(`^http://localhost:${server.port}/s/[0-9A-Za-z]{12}$`),
      );
    } finally {
      expect(await server.stop()).toBe(0);
    }
    const list = await cli(['token', 'list'], env);
    const rows = list.stdout.trimEnd().split('\n').slice(1);
    const revokedRow = rows.find((l) => l.startsWith(plainTokenId))?.split(/\s+/);
    const usedRow = rows.find((l) => l.startsWith(ttlTokenId))?.split(/\s+/);
    expect(revokedRow?.[5]).toMatch(BEIJING);
    expect(revokedRow?.[6]).toBe('-');
    expect(usedRow?.[5]).toBe('-');
    expect(usedRow?.[6]).toMatch(BEIJING);
  });
});

describe('etc-esign serve on a fresh data directory', () => {
  // Not there yet: serve creates it (0700).
  const dataDir = path.join(tempDir('cli-serve'), 'data');
  let port = 0;
  let server: GatewayProcess | undefined;
  let token = '';
  const people: TestPerson[] = [person(31_101), person(31_102)];
  const flows: string[] = [];
  const env = () => cleanEnv(dataDir, { PORT: String(port), HOST: '127.0.0.1' });

  beforeAll(async () => {
    server = await serve(dataDir);
    port = server.port;
  });
  afterAll(async () => {
    if (server) expect(await server.stop()).toBe(0);
  });

  it('prints one token and a curl command that works exactly as printed', async () => {
    const banner = server?.banner ?? [];
    const tokenLines = banner.filter((l) => /^\s+[0-9A-Za-z]{32}$/.test(l));
    expect(tokenLines).toHaveLength(1);
    token = tokenLines[0]?.trim() ?? '';
    recordSecret(token);
    expect(banner).toContain('Created client "default" with this access token (shown once, keep it safe):');
    const curls = banner.filter((l) => l.trim().startsWith('curl '));
    expect(curls).toHaveLength(1);
    const curl = curls[0] ?? '';
    // Exactly this many plain lines, so nothing else (no second token, no personal data) is printed.
    expect(banner.filter((l) => l.trim() !== '')).toHaveLength(4);

    const url = /-X POST (\S+)/.exec(curl)?.[1];
    expect(url).toBe(`http://localhost:${port}${FACE}`);
    const headers = Object.fromEntries(
      [...curl.matchAll(/-H '([^:']+): ([^']*)'/g)].map((m) => [m[1] ?? '', m[2] ?? '']),
    );
    expect(headers).toEqual({ 'content-type': 'application/json', 'etc-sys-id': 'E02', 'etc-token': token });
    const body = /-d '([^']*)'$/.exec(curl)?.[1] ?? '';
    const res = await fetch(url ?? '', { method: 'POST', headers, body });
    expect(res.status).toBe(200);
    const json = await res.json();
    expect(json.responseCode).toBe('000');
    expect(json.data.message).toBe('success');
    expect(json.data.authUrl).toMatch(new RegExp(`^http://localhost:${port}/s/[0-9A-Za-z]{12}$`));
    expect(json.data.flowId).toMatch(FLOW_ID);

    // The log stream (stdout) is JSON lines only: the token is on stderr.
    expect(server?.stdoutPlain.filter((l) => l.trim() !== '')).toEqual([]);
    const modes = Object.fromEntries(
      ['.', 'keys.json', 'etc-esign.sqlite', 'etc-esign.sqlite-wal', 'etc-esign.sqlite-shm'].map((f) => [
        f,
        (fs.statSync(path.join(dataDir, f)).mode & 0o777).toString(8),
      ]),
    );
    expect(modes).toEqual({
      '.': '700',
      'keys.json': '600',
      'etc-esign.sqlite': '600',
      'etc-esign.sqlite-wal': '600',
      'etc-esign.sqlite-shm': '600',
    });
    // The server's own log lines hold neither the token nor the sample's personal data.
    const logs = server?.logLines.join('\n') ?? '';
    expect(logs.includes(token), 'the token is in a log line').toBe(false);
    expect(logs.includes(JSON.parse(body).idNumber), 'the ID number is in a log line').toBe(false);
  });

  it('a second serve on the same data directory prints no new token', async () => {
    const second = await serve(dataDir);
    try {
      expect(second.banner.filter((l) => l.trim() !== '')).toEqual([]);
      expect((await fetch(`${second.url}/healthz`)).status).toBe(200);
      // Both processes share the database: the bootstrap token works on the second one too.
      const r = await call(second.url, token, 'POST', FACE, people[0]);
      expect(r.status).toBe(200);
      flows.push(String(r.body.data?.flowId));
    } finally {
      expect(await second.stop()).toBe(0);
    }
    const r2 = await call(server?.url ?? '', token, 'POST', FACE, people[1]);
    expect(r2.status).toBe(200);
    flows.push(String(r2.body.data?.flowId));
  });

  it('sandbox complete passes or fails a flow, as seen through the API of the running server', async () => {
    const [okFlow, failFlow] = flows as [string, string];
    const url = server?.url ?? '';
    const passed = await cli(['sandbox', 'complete', okFlow], env());
    expect(passed.code).toBe(0);
    expect(passed.stdout).toBe(`${okFlow} SUCCESS\n`);
    const q1 = await call(url, token, 'GET', `${FACE}/${okFlow}`);
    expect(q1.body.data).toMatchObject({
      flowId: okFlow,
      status: 'SUCCESS',
      esignAccountId: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(q1.body.data?.failReason).toBeUndefined();

    const failed = await cli(['sandbox', 'complete', failFlow, '--fail', '活体检测未通过'], env());
    expect(failed.code).toBe(0);
    expect(failed.stdout).toBe(`${failFlow} FAILED\n`);
    const q2 = await call(url, token, 'GET', `${FACE}/${failFlow}`);
    expect(q2.body.data).toMatchObject({ flowId: failFlow, status: 'FAILED', failReason: '活体检测未通过' });
    expect(q2.body.data?.esignAccountId).toBeUndefined();

    // Status only moves forward.
    const again = await cli(['sandbox', 'complete', failFlow], env());
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`${failFlow} FAILED (unchanged: already final)\n`);
    expect((await call(url, token, 'GET', `${FACE}/${failFlow}`)).body.data?.status).toBe('FAILED');

    const missing = await cli(['sandbox', 'complete', '00000000-0000-4000-8000-000000000000'], env());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('error: no sandbox flow 00000000-0000-4000-8000-000000000000\n');
  });

  it('flow show prints the flow as JSON with masked personal data only', async () => {
    const p = people[0] as TestPerson;
    const r = await cli(['flow', 'show', flows[0] ?? ''], env());
    expect(r.code).toBe(0);
    const shown = JSON.parse(r.stdout);
    expect(shown).toMatchObject({ flowId: flows[0], status: 'SUCCESS', provider: 'sandbox' });
    expect(shown.clientId).toMatch(UUID);
    expect(shown.person).toEqual({
      name: `**${p.name.slice(2)}`,
      idNumber: `${p.idNumber.slice(0, 4)}**********${p.idNumber.slice(14)}`,
      mobile: `${p.mobile.slice(0, 3)}****${p.mobile.slice(7)}`,
    });
    const leaked = Object.entries(p).filter(([, v]) => (r.stdout + r.stderr).includes(v));
    expect(
      leaked.map(([k]) => k),
      'unmasked fields in flow show',
    ).toEqual([]);

    const missing = await cli(['flow', 'show', 'nope'], env());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('error: no flow nope\n');
  });
});

describe('etc-esign configuration and migrations', () => {
  it('stops quietly with exit 0 when the reader of its output has gone (`| head`)', async () => {
    const proc = spawn(process.execPath, [path.join(ROOT, 'bin/etc-esign'), 'keys', 'generate'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The reader is gone before the first line is written (`head -0`).
    proc.stdout.destroy();
    let stderr = '';
    proc.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('reports every bad variable in one message and exits 2', async () => {
    const r = await cli(
      ['serve'],
      cleanEnv(tempDir('cli-bad'), { PORT: 'abc', PROVIDER: 'nope', LOG_LEVEL: 'loud' }),
    );
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      [
        'invalid configuration:',
        '  - PORT must be an integer from 0 to 65535 (got "abc")',
        '  - PROVIDER must be one of sandbox, esign (got "nope")',
        '  - LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
        '',
      ].join('\n'),
    );
    // The same for a non-serve command.
    const m = await cli(
      ['migrate'],
      cleanEnv(tempDir('cli-bad'), { PORT: 'abc', PROVIDER: 'nope', LOG_LEVEL: 'loud' }),
    );
    expect(m.code).toBe(2);
    expect(m.stderr).toBe(r.stderr);
  });

  it('migrate applies every migration once, then reports the schema up to date', async () => {
    const env = cleanEnv(path.join(tempDir('cli-migrate'), 'fresh'));
    const names = Object.keys(await migrationProvider.getMigrations()).sort();
    const first = await cli(['migrate'], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(`applied: ${names.join(', ')}\n`);
    const second = await cli(['migrate'], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe('schema is up to date\n');
  });
});
