import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../../src/config.js';
import { runCli as cli } from '../support/cli-run.js';
import { createTestDatabase, PG_ADMIN_URL, postgresAvailable } from '../support/databases.js';
import { sharedKeysEnv } from '../support/esign.js';
import { api, FACE, freePort, startGateway, type TestGateway } from '../support/gateway.js';
import { ROOT, tempDir } from '../support/paths.js';
import { person } from '../support/people.js';
import { spawnGateway } from '../support/process.js';
import { createTestRedis, redisAvailable, type TestRedis } from '../support/redis.js';

const pgReady = await postgresAvailable();
const redisReady = await redisAvailable();

/** What an operator meets on a first day, each answered in a line or two that names the fix. */
describe('the command line', () => {
  const env = () => ({ DATA_DIR: tempDir('op') });

  it('--version prints the package version', async () => {
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
    expect(await cli(['--version'], env())).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('rejects an unknown command and suggests the commands it is close to', async () => {
    const r = await cli(['lsit'], env());
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const [first, suggestion, hint, ...rest] = r.stderr.split('\n');
    expect([first, hint, rest]).toEqual([
      "error: unknown command 'lsit'",
      '(etc-esign --help lists every command)',
      [''],
    ]);
    // Every "… list" command, whatever commands join later.
    const named = (suggestion ?? '')
      .replace(/^Did you mean /, '')
      .replace(/\?$/, '')
      .split(/, | or /);
    expect(named).toEqual(
      expect.arrayContaining(['etc-esign client list', 'etc-esign token list', 'etc-esign delivery list']),
    );
    expect(named.every((c) => /^etc-esign [a-z]+ list$/.test(c))).toBe(true);
  });

  it('serve --help lists every environment variable with its default', async () => {
    const r = await cli(['serve', '--help'], env());
    expect(r.code).toBe(0);
    for (const [name, setting] of Object.entries(SETTINGS)) {
      const line = r.stdout.split('\n').find((l) => l.trimStart().startsWith(`${name} `));
      expect(line, name).toBeDefined();
      if (setting.default !== null) expect(line).toContain(`(default: ${setting.default})`);
    }
  });

  it('a port in use is named with the setting that fixes it, and nothing is printed or created first', async () => {
    const busy = net.createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => busy.listen(port, '127.0.0.1', () => resolve()));
    const dataDir = tempDir('op-busy');
    try {
      const r = await cli(['serve'], { DATA_DIR: dataDir, PORT: String(port) });
      expect(r).toEqual({
        code: 1,
        stdout: '',
        stderr: `error: port ${port} is already in use on 127.0.0.1 by another program.\nSet PORT to a free port (e.g. PORT=${port + 1}) or stop the other program.\n`,
      });
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
    // The failed start created no client, so the next start still shows the first token.
    const next = await spawnGateway({ DATA_DIR: dataDir });
    try {
      expect(next.banner.filter((l) => /^\s+[0-9A-Za-z]{32}$/.test(l))).toHaveLength(1);
    } finally {
      await next.stop();
    }
  });

  it.runIf(pgReady)(
    'a missing PostgreSQL database says how to create it; LOG_LEVEL=debug adds the stack',
    async () => {
      const url = new URL(PG_ADMIN_URL);
      url.pathname = '/etc_esign_no_such_db';
      const r = await cli(['migrate'], { DATABASE_URL: url.toString() });
      expect(r).toEqual({
        code: 1,
        stdout: '',
        stderr:
          'error: PostgreSQL database "etc_esign_no_such_db" does not exist.\nCreate it (createdb etc_esign_no_such_db) or point DATABASE_URL at an existing database.\n',
      });
      const debug = await cli(['migrate'], { DATABASE_URL: url.toString(), LOG_LEVEL: 'debug' });
      expect(debug.stderr.split('\n').slice(0, 2)).toEqual(r.stderr.split('\n').slice(0, 2));
      expect(debug.stderr).toMatch(/\n {4}at /);
    },
  );

  it('an unexpected error is one line, with the stack only at LOG_LEVEL=debug', async () => {
    const r = await cli(['migrate'], { DATABASE_URL: 'sqlite:/dev/null/x.sqlite' });
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(2);
    expect(r.stderr).not.toMatch(/\n {4}at /);
  });
});

describe('serve start-up', () => {
  it('says where it listens: 127.0.0.1 by default', async () => {
    const gw = await spawnGateway({ HOST: undefined });
    try {
      const line = gw.logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'etc-esign listening');
      expect(line.listen).toBe(`http://127.0.0.1:${gw.port}`);
      expect(gw.logLines.filter((l) => JSON.parse(l).level >= 40)).toEqual([]);
    } finally {
      await gw.stop();
    }
  });

  it('on every interface, says so and warns that /metrics and /docs are exposed; warns about private notify URLs', async () => {
    const gw = await spawnGateway({ HOST: '0.0.0.0', NOTIFY_ALLOW_PRIVATE_NETWORKS: 'true' });
    try {
      const lines = gw.logLines.map((l) => JSON.parse(l));
      expect(lines.find((l) => l.msg === 'etc-esign listening')?.listen).toBe(
        `0.0.0.0:${gw.port} (every interface)`,
      );
      expect(lines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
        '/metrics, /console and /docs answer on every address this listener serves; set ADMIN_PORT to move /metrics and /console to a listener of their own, and let the reverse proxy pass only /esign/, /s/ and /h5/',
        'NOTIFY_ALLOW_PRIVATE_NETWORKS=true: notify URLs may use http:// and private or loopback addresses; for development only',
      ]);
    } finally {
      await gw.stop();
    }
  });
});

describe.runIf(redisReady)('person unblock', () => {
  let gw: TestGateway;
  let redis: TestRedis;
  let cliEnv: Record<string, string>;

  beforeAll(async () => {
    redis = createTestRedis();
    const db = await createTestDatabase('sqlite');
    const keys = sharedKeysEnv();
    gw = await startGateway({ db, env: { ...keys, ...redis.env, RATE_LIMIT_NEW_FLOWS_PER_PERSON: '1' } });
    cliEnv = { ...keys, ...redis.env, DATABASE_URL: db.url, DATA_DIR: tempDir('unblock') };
  });
  afterAll(async () => {
    await gw?.close();
    await redis?.drop();
  });

  it("resets a person's new-flow limit, reading the ID number from stdin", async () => {
    const p = person(42_001);
    expect((await api(gw, 'POST', FACE, p)).status).toBe(200);
    expect((await api(gw, 'POST', FACE, { ...p, mobile: '13700000011' })).status).toBe(429);

    const r = await cli(
      ['person', 'unblock', '--client', 'acme', '--id-number-stdin'],
      cliEnv,
      `${p.idNumber}\n`,
    );
    expect(r.stdout).toBe(
      `reset the new-flow limit of ${p.idNumber.slice(0, 4)}**********${p.idNumber.slice(14)} for client acme\n`,
    );
    expect(r.code).toBe(0);
    expect((await api(gw, 'POST', FACE, { ...p, mobile: '13700000012' })).status).toBe(200);
    // Audited, with ids only.
    const audit = await cli(['audit', 'list', '--limit', '50'], cliEnv);
    expect(audit.code).toBe(0);
    const rows = audit.stdout.split('\n').filter((l) => l.includes('person.unblock'));
    expect(rows).toHaveLength(1);
    expect(rows[0]?.includes(p.idNumber)).toBe(false);
  });

  it('refuses a client that never asked for the person, and a malformed ID number, without echoing it', async () => {
    const p = person(42_002);
    await gw.newClient('other');
    expect((await api(gw, 'POST', FACE, p)).status).toBe(200);
    const other = await cli(
      ['person', 'unblock', '--client', 'other', '--id-number-stdin'],
      cliEnv,
      `${p.idNumber}\n`,
    );
    expect(other).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: client "other" never asked for this person\n',
    });
    const bad = await cli(
      ['person', 'unblock', '--client', 'acme', '--id-number-stdin'],
      cliEnv,
      '110105198001010000\n',
    );
    expect(bad).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: the ID number on stdin is not valid (ID_CHECKSUM)\n',
    });
  });

  it('without REDIS_URL explains that each process counts in memory', async () => {
    const { REDIS_URL: _url, REDIS_KEY_PREFIX: _prefix, ...noRedis } = cliEnv;
    const r = await cli(
      ['person', 'unblock', '--client', 'acme', '--id-number-stdin'],
      noRedis,
      `${person(42_001).idNumber}\n`,
    );
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'error: rate limits are counted in the memory of each gateway process (REDIS_URL is unset).\nRestart the gateway to reset them, or set REDIS_URL so this command can.\n',
    });
  });
});
