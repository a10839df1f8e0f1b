/**
 * `npm run bench [-- --quick] [-- --only a,b] [-- --profile]`: the gateway against a bare Fastify
 * baseline, side by side, on 127.0.0.1. This machine is shared and noisy, so what matters is the
 * ratio between servers measured in the same run, in interleaved repetitions (drift hits both).
 * Servers are separate processes; this process only drives load (autocannon) and keeps score.
 * Prints one table and writes bench/results/latest.json. Exit code: 0 when the run worked, even if
 * targets are missed; 1 when something broke (a server died, unexpected statuses, socket errors).
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH);
// The gateways run from dist/ and people.mjs validates its persons with dist/'s own rules: without
// a build, say so instead of failing on an import deep inside.
if (!fs.existsSync(path.join(ROOT, 'dist', 'cli.js'))) {
  console.error('bench: dist/ is missing: run `npm run build` first (or use `npm run bench`, which builds)');
  process.exit(1);
}
const newestMtime = (dir) =>
  fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .reduce((t, e) => Math.max(t, fs.statSync(path.join(e.parentPath, e.name)).mtimeMs), 0);
if (newestMtime(path.join(ROOT, 'src')) > newestMtime(path.join(ROOT, 'dist'))) {
  console.error('bench: warning: src/ has changes newer than dist/; run `npm run build` to measure them');
}
const { INVALID_BODIES, person, personSequence } = await import('./people.mjs');
const RESULTS = path.join(BENCH, 'results');
const CLI = path.join(ROOT, 'bin', 'etc-esign');
const FACE = '/esign/api/auth/individual/face';

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    reps: { type: 'string' },
    duration: { type: 'string' },
    'seed-flows': { type: 'string' },
    // A/B-testing a fix without touching src/: a copy of the package with patched dist/ files.
    'gateway-cli': { type: 'string' },
    // Before/after in one run: a second sandbox gateway from another package (e.g. a build of
    // main) measured in the same interleaved rounds as this one.
    'before-cli': { type: 'string' },
  },
});
const QUICK = opt.quick;
const REPS = Number(opt.reps ?? (QUICK ? 1 : 3));
const DURATION = Number(opt.duration ?? (QUICK ? 3 : 10));
const WARMUP = QUICK ? 1 : 3;
const SEED_FLOWS = Number(opt['seed-flows'] ?? (QUICK ? 50_000 : 1_000_000));
const CONNECTIONS = 50;
const ESIGN_CONNECTIONS = 500;
const ESIGN_LATENCY_MS = 200;
/** A person without an e签宝 account costs two upstream calls: create account, then start face. */
const ESIGN_CALLS_PER_NEW_FLOW = 2;
const THEORETICAL_ESIGN_RPS = ESIGN_CONNECTIONS / ((ESIGN_CALLS_PER_NEW_FLOW * ESIGN_LATENCY_MS) / 1000);
const ALL = [
  'new-person',
  'same-person',
  'invalid',
  'query',
  'esign-latency',
  'grown',
  'new-person-pg',
  'same-person-pg',
  'scale-out',
  'console-overview',
];
/** The console's 30-day overview on the seeded database must answer within this, on both stores. */
const OVERVIEW_TARGET_MS = 300;
const OVERVIEW_RUNS = QUICK ? 5 : 20;
const PG_SCENARIOS = ['new-person-pg', 'same-person-pg', 'scale-out'];
/** The scale-out scenario runs 1, 2 and 3 gateway processes on one PostgreSQL and one Redis. */
const SCALE_OUT = [1, 2, 3];
const PG_ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** A Redis database of its own, emptied of the gateway's keys at the end. */
const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/13';
const selected = opt.only ? opt.only.split(',') : ALL;
for (const s of selected) if (!ALL.includes(s)) throw new Error(`unknown scenario ${s}; known: ${ALL}`);

/** The first targets of issue 15; the PostgreSQL and scale-out figures are reported, not judged. */
const TARGETS = {
  'new-person': { min: 0.1, p99Max: 150, text: '≥0.10×base, p99≤150' },
  'same-person': { min: 0.45, text: '≥0.45×base' },
  invalid: { min: 0.6, text: '≥0.60×base' },
  query: { min: 0.45, text: '≥0.45×base' },
  'esign-latency': { min: 0.8, p99Max: 1500, text: `≥0.80×${THEORETICAL_ESIGN_RPS}, p99≤1500` },
  grown: { min: 0.85, text: '≥0.85×new-person' },
  'new-person-pg': { min: null, text: '(÷ pg reference)' },
  'same-person-pg': { min: null, text: '(÷ pg reference)' },
  'scale-out': { min: null, text: '(÷ 1 process)' },
  'console-overview': { text: `30 d overview < ${OVERVIEW_TARGET_MS} ms on both stores` },
};

// ---------------------------------------------------------------------------------------------
// Processes

/** Running server processes, stopped (by pid, SIGTERM) at the end or killed if this process dies. */
const procs = new Set();
const crashed = [];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'etc-esign-bench-'));
const logDir = path.join(RESULTS, 'logs');
const profileDir = path.join(RESULTS, 'profiles');
fs.mkdirSync(logDir, { recursive: true });
if (opt.profile) {
  fs.rmSync(profileDir, { recursive: true, force: true });
  fs.mkdirSync(profileDir, { recursive: true });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Environment for a gateway: isolated data dir, quiet logs, rate limits out of the way. */
function gatewayEnv(name, port, extra = {}) {
  const env = { ...process.env };
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'ENCRYPTION_KEYS', 'BLIND_INDEX_KEY']) delete env[k];
  return {
    ...env,
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    DATA_DIR: path.join(work, name),
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_TOKEN: '1000000',
    RATE_LIMIT_NEW_FLOWS_PER_PERSON: '1000000',
    RATE_LIMIT_SHORT_LINK_PER_IP: '1000000',
    // The load generator is one address opening up to 500 connections: no per-address cap.
    HTTP_MAX_CONNECTIONS_PER_IP: '0',
    ...extra,
  };
}

const run = promisify(execFile);
async function cli(bin, env, ...args) {
  const { stdout } = await run(process.execPath, [bin, ...args], { env, maxBuffer: 1 << 20 });
  return stdout.trim();
}

/** Migrates a fresh database and returns a token of the `bench` client. */
async function prepareDb(env, bin = CLI) {
  await cli(bin, env, 'migrate');
  await cli(bin, env, 'client', 'create', 'bench');
  return cli(bin, env, 'token', 'create', '--client', 'bench');
}

/** Starts a server process; a death before `stop()` is recorded and fails the run. */
function startProcess(name, args, env, { readLine = false } = {}) {
  const log = fs.openSync(path.join(logDir, `${name}.log`), 'w');
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', readLine ? 'pipe' : log, log] });
  const proc = { name, child, pid: child.pid, stopping: false };
  procs.add(proc);
  child.on('exit', (code, signal) => {
    procs.delete(proc);
    if (!proc.stopping) {
      crashed.push(`${name} exited (code ${code}, signal ${signal}); see bench/results/logs/${name}.log`);
      console.error(`!! ${crashed.at(-1)}`);
    }
  });
  proc.firstLine = readLine
    ? new Promise((resolve, reject) => {
        child.once('exit', () => reject(new Error(`${name} exited before printing its address`)));
        let buf = '';
        child.stdout.on('data', (d) => {
          buf += d;
          if (buf.includes('\n')) resolve(buf.split('\n')[0].trim());
          fs.writeSync(log, d);
        });
      })
    : null;
  proc.stop = () =>
    new Promise((resolve) => {
      proc.stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  return proc;
}

async function waitReady(url, proc) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited during start`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {}
    await sleep(100);
  }
  throw new Error(`${proc.name} did not become ready at ${url}`);
}

async function startGateway(name, env, bin = opt['gateway-cli'] ?? CLI) {
  const prof = opt.profile
    ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`]
    : [];
  const proc = startProcess(name, [...prof, bin, 'serve'], env);
  proc.url = env.PUBLIC_BASE_URL;
  await waitReady(proc.url, proc);
  return proc;
}

/** Linux keeps the peak RSS (VmHWM) per process; writing 5 to clear_refs resets it. */
function resetPeakRss(proc) {
  try {
    fs.writeFileSync(`/proc/${proc.pid}/clear_refs`, '5');
  } catch {}
}
/** CPU time (user + system) the process has used, in ms; USER_HZ is 100 on Linux. */
function cpuMs(proc) {
  try {
    const fields = fs.readFileSync(`/proc/${proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}
function peakRssMb(proc) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Load

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs) => {
  const s = xs.filter((x) => x !== null).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * One autocannon run. `requests()` builds a fresh request list (so generators restart nowhere
 * near each other). Returns the run's numbers plus what went wrong: statuses outside `expect`
 * and socket errors or timeouts.
 */
async function load(target, seconds) {
  // A target may be several processes (scale-out): the connections are spread over their ports,
  // one autocannon instance per port, all at once; throughput and CPU are summed.
  const procs = target.procs ?? [target.proc];
  const connections = target.connections ?? CONNECTIONS;
  const cpuBefore = procs.map(cpuMs);
  const results = await Promise.all(
    procs.map((proc, i) =>
      autocannon({
        url: proc.url,
        connections: Math.floor(connections / procs.length) + (i < connections % procs.length ? 1 : 0),
        duration: seconds,
        timeout: 30,
        headers: target.headers,
        requests: target.requests(),
      }),
    ),
  );
  const cpu = procs.reduce((sum, proc, i) => sum + (cpuMs(proc) - cpuBefore[i]), 0);
  const total = results.reduce((n, r) => n + r.requests.total, 0);
  const statuses = {};
  for (const r of results) {
    for (const [status, { count }] of Object.entries(r.statusCodeStats)) {
      statuses[status] = (statuses[status] ?? 0) + count;
    }
  }
  let unexpected = 0;
  for (const [status, count] of Object.entries(statuses)) {
    if (!target.expect.includes(Number(status))) unexpected += count;
  }
  const p99 = Math.max(...results.map((r) => r.latency.p99));
  // autocannon abandons the requests in flight when the time is up, but the server finishes them:
  // let it, so they do not eat into the next run (with 500 slow upstream calls that takes seconds).
  await sleep(Math.min(15_000, Math.max(200, 1.5 * p99)));
  return {
    rps: total / Math.max(...results.map((r) => r.duration)),
    // Several instances: p50 weighted by answers, p99 the worst instance's.
    p50: total ? results.reduce((x, r) => x + r.latency.p50 * r.requests.total, 0) / total : null,
    p99,
    // CPU per answer hardly depends on how much CPU the neighbours took: the steadiest number here.
    cpuPerReq: total ? cpu / total : null,
    non2xx: results.reduce((n, r) => n + r.non2xx, 0),
    unexpected,
    // A run without a single answer is broken even if nothing errored.
    errors: results.reduce((n, r) => n + r.errors + r.timeouts, 0) + (total === 0 ? 1 : 0),
    statuses,
  };
}

/**
 * Warms every target up once, then runs `REPS` rounds of all targets one after the other, so
 * slow minutes of a noisy machine hit every target alike. Peak RSS is the peak over the scenario.
 */
async function measure(scenario, targets) {
  for (const t of targets) for (const p of t.procs ?? [t.proc]) resetPeakRss(p);
  for (const t of targets) await load(t, t.warmup ?? WARMUP);
  const runs = new Map(targets.map((t) => [t.key, []]));
  for (let rep = 0; rep < REPS; rep++) {
    for (const t of targets) {
      const r = await load(t, t.duration ?? DURATION);
      runs.get(t.key).push(r);
      const bad =
        r.unexpected || r.errors ? `  !! statuses ${JSON.stringify(r.statuses)} errors ${r.errors}` : '';
      console.log(
        `  ${scenario.padEnd(13)} ${t.key.padEnd(8)} rep ${rep + 1}: ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${round(r.p50, 1)} ms  p99 ${r.p99} ms  cpu ${r.cpuPerReq?.toFixed(2)} ms/req${bad}`,
      );
    }
  }
  const out = {};
  for (const t of targets) {
    const rs = runs.get(t.key);
    out[t.key] = {
      rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      rss: Math.max(...(t.procs ?? [t.proc]).map((p) => peakRssMb(p) ?? 0)) || null,
      cpuPerReq: median(rs.map((r) => r.cpuPerReq)),
      non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
      unexpected: rs.reduce((a, r) => a + r.unexpected, 0),
      errors: rs.reduce((a, r) => a + r.errors, 0),
    };
  }
  return out;
}

const post = (body) => ({ method: 'POST', path: FACE, body });
/** A new person every request: the body is built as the request is sent. */
const newPersons = (next) => () => [
  {
    ...post(JSON.stringify(next())),
    setupRequest: (req) => {
      req.body = JSON.stringify(next());
      return req;
    },
  },
];
const cycling = (items, build) => () => {
  let i = 0;
  return [
    { ...build(items[0]), setupRequest: (req) => Object.assign(req, build(items[i++ % items.length])) },
  ];
};

/** Creates `n` flows through the API (for the query scenario); returns their ids. */
async function createFlows(gw, headers, next, n) {
  const ids = [];
  const worker = async () => {
    while (ids.length < n) {
      const res = await fetch(`${gw.url}${FACE}`, { method: 'POST', headers, body: JSON.stringify(next()) });
      const json = await res.json();
      if (res.status !== 200 || !json.data?.flowId) throw new Error(`flow creation answered ${res.status}`);
      ids.push(json.data.flowId);
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  return ids;
}

// ---------------------------------------------------------------------------------------------
// console-overview: the operator console's 30-day overview on 1M seeded flows, SQLite and PostgreSQL

/** Runs the CLI with `input` on stdin (for `--password-stdin`). */
function cliWithInput(env, input, ...args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('exit', (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`${args.join(' ')}: ${err}`)),
    );
    child.stdin.end(input);
  });
}

/** Seeds a migrated database (SQLite file in the env's DATA_DIR, or its DATABASE_URL). */
async function seed(env) {
  const target = env.DATABASE_URL
    ? ['--database-url', env.DATABASE_URL]
    : ['--db', path.join(env.DATA_DIR, 'etc-esign.sqlite')];
  const args = [path.join(BENCH, 'seed-flows.mjs'), ...target, '--flows', String(SEED_FLOWS)];
  return JSON.parse((await run(process.execPath, [...args, '--base-url', env.PUBLIC_BASE_URL])).stdout);
}

/** An admin session on a gateway: operator created by the CLI, logged in, first password changed. */
async function consoleSession(gw, env) {
  const first = 'bench-initial-password';
  await cliWithInput(
    env,
    `${first}\n`,
    'operator',
    'create',
    'bench-ops',
    '--role',
    'admin',
    '--password-stdin',
  );
  const login = await fetch(`${gw.url}/console/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'bench-ops', password: first }),
  });
  if (login.status !== 200) throw new Error(`console login answered ${login.status}`);
  const cookie = login.headers.get('set-cookie').split(';')[0];
  const { csrfToken } = (await login.json()).data;
  const changed = await fetch(`${gw.url}/console/api/session/password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken },
    body: JSON.stringify({ currentPassword: first, newPassword: 'bench-chosen-password' }),
  });
  if (changed.status !== 200) throw new Error(`password change answered ${changed.status}`);
  return cookie;
}

/** Times `runs` overview calls after warm-ups; the gateway's whole answer, as the browser waits for it. */
async function timeOverview(gw, cookie, range, runs) {
  const once = async () => {
    const t = performance.now();
    const res = await fetch(`${gw.url}/console/api/overview?range=${range}`, { headers: { cookie } });
    const body = await res.json();
    if (res.status !== 200) throw new Error(`overview answered ${res.status}`);
    return { ms: performance.now() - t, created: body.data.funnel.created };
  };
  for (let i = 0; i < 3; i++) await once();
  const samples = [];
  for (let i = 0; i < runs; i++) samples.push(await once());
  const ms = samples.map((x) => x.ms).sort((a, b) => a - b);
  return {
    median_ms: round(median(ms), 1),
    p95_ms: round(ms[Math.min(ms.length - 1, Math.ceil(0.95 * ms.length) - 1)], 1),
    max_ms: round(ms[ms.length - 1], 1),
    flows_in_range: samples[0].created,
  };
}

/**
 * Seeded flows are up to a year old: with the default RETENTION_DAYS the gateway would spend its
 * first minutes erasing most of them, which is not what this scenario measures.
 */
const OVERVIEW_ENV = { RETENTION_DAYS: '36500' };

async function measureOverview(name, env) {
  const gw = await startGateway(`gateway-${name}`, { ...env, ...OVERVIEW_ENV });
  try {
    const cookie = await consoleSession(gw, env);
    const result = { '30d': await timeOverview(gw, cookie, '30d', OVERVIEW_RUNS) };
    result['24h'] = await timeOverview(gw, cookie, '24h', OVERVIEW_RUNS);
    console.log(
      `  console-overview ${name}: 30d median ${result['30d'].median_ms} ms, p95 ${result['30d'].p95_ms} ms`,
    );
    return result;
  } finally {
    await gw.stop();
  }
}

/** The overview on SQLite (the grown database when that scenario ran) and on a seeded PostgreSQL. */
async function consoleOverview(grownEnv) {
  const out = { seeding: {} };
  let sqliteEnv = grownEnv;
  if (!sqliteEnv) {
    sqliteEnv = gatewayEnv('overview-sqlite', await freePort());
    await prepareDb(sqliteEnv);
    console.log(`seeding ${SEED_FLOWS.toLocaleString('en')} flows (SQLite)…`);
    out.seeding.sqlite = await seed(sqliteEnv);
  }
  out.sqlite = await measureOverview('overview-sqlite', sqliteEnv);

  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await admin.connect();
  } catch (err) {
    console.log(
      `PostgreSQL at ${PG_ADMIN_URL} unreachable (${err.message}): console-overview on SQLite only`,
    );
    out.postgres = null;
    return out;
  }
  const dbName = `etc_esign_bench_${process.pid}`;
  await admin.query(`create database ${dbName}`);
  try {
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${dbName}`;
    // PostgreSQL needs keys given (every process shares them); the seed's placeholders use key id k1.
    const key = () => randomBytes(32).toString('base64');
    const pgEnv = gatewayEnv('overview-postgres', await freePort(), {
      DATABASE_URL: url.toString(),
      ENCRYPTION_KEYS: `k1:${key()}`,
      BLIND_INDEX_KEY: key(),
    });
    await prepareDb(pgEnv);
    console.log(`seeding ${SEED_FLOWS.toLocaleString('en')} flows (PostgreSQL)…`);
    out.seeding.postgres = await seed(pgEnv);
    console.log(`seeded PostgreSQL in ${out.seeding.postgres.seconds}s`);
    out.postgres = await measureOverview('overview-postgres', pgEnv);
  } finally {
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The run

const needs = (...names) => names.some((n) => selected.includes(n));
const started = Date.now();
const headersFor = (token) => ({
  'content-type': 'application/json',
  'etc-token': token,
  'etc-sys-id': 'E02',
});
const summary = {};
let seeding = null;
/** console-overview results: not a load scenario, reported in its own lines. */
let overview = null;

/**
 * Linux pressure stall info: the share of time some task waited for a CPU. On an idle machine it
 * is near 0; above ~30% the neighbours are taking CPU from the servers, and absolute numbers drift.
 */
function cpuStallUs() {
  try {
    return Number(/some .*total=(\d+)/.exec(fs.readFileSync('/proc/pressure/cpu', 'utf8'))[1]);
  } catch {
    return null;
  }
}
const stallAtStart = cpuStallUs();

async function main() {
  console.log(
    `bench: ${QUICK ? 'quick, ' : ''}${REPS} rep(s) × ${DURATION}s (warm-up ${WARMUP}s), scenarios ${selected.join(', ')}`,
  );
  const basePort = await freePort();
  const baseline = startProcess('baseline', [path.join(BENCH, 'baseline.mjs')], {
    ...process.env,
    PORT: String(basePort),
  });
  baseline.url = `http://127.0.0.1:${basePort}`;
  await waitReady(baseline.url, baseline);

  // The grown database is seeded before any server runs load, so seeding does not disturb numbers;
  // the sandbox gateway's database is prepared meanwhile.
  const prepareGrown = async () => {
    const env = gatewayEnv('grown', await freePort());
    const grownToken = await prepareDb(env);
    console.log(`seeding ${SEED_FLOWS.toLocaleString('en')} flows…`);
    const db = path.join(env.DATA_DIR, 'etc-esign.sqlite');
    const seedArgs = [path.join(BENCH, 'seed-flows.mjs'), '--db', db, '--flows', String(SEED_FLOWS)];
    seeding = JSON.parse(
      (await run(process.execPath, [...seedArgs, '--base-url', env.PUBLIC_BASE_URL])).stdout,
    );
    console.log(`seeded ${seeding.flows} flows / ${seeding.persons} persons in ${seeding.seconds}s`);
    return { grown: await startGateway('gateway-grown', env), grownToken, grownEnv: env };
  };
  const prepareSandbox = async () => {
    const env = gatewayEnv('sandbox', await freePort());
    const token = await prepareDb(env);
    return { gw: await startGateway('gateway', env), token };
  };
  const prepareBefore = async () => {
    const bin = path.resolve(opt['before-cli']);
    const env = gatewayEnv('before', await freePort());
    const beforeToken = await prepareDb(env, bin);
    return { before: await startGateway('gateway-before', env, bin), beforeToken };
  };
  const sandboxScenarios = needs('new-person', 'same-person', 'invalid', 'query', 'grown');
  const [{ grown, grownToken, grownEnv }, { gw, token }, { before, beforeToken }] = await Promise.all([
    needs('grown') ? prepareGrown() : { grown: null, grownToken: null, grownEnv: null },
    sandboxScenarios ? prepareSandbox() : { gw: null, token: null },
    sandboxScenarios && opt['before-cli'] ? prepareBefore() : { before: null, beforeToken: null },
  ]);
  /** The same target on the `--before-cli` gateway, when there is one. */
  const withBefore = (targets, gatewayTarget) =>
    before
      ? [...targets, { ...gatewayTarget, key: 'before', proc: before, headers: headersFor(beforeToken) }]
      : targets;

  // The baseline gets the same headers: parsing them is part of the work being compared.
  const base = (requests, expect = [200]) => ({
    key: 'baseline',
    proc: baseline,
    headers: headersFor(token ?? 'x'.repeat(32)),
    requests,
    expect,
  });
  const gate = (requests, expect = [200]) => ({
    key: 'gateway',
    proc: gw,
    headers: headersFor(token),
    requests,
    expect,
  });
  const throwaway = personSequence();

  if (needs('new-person', 'grown')) {
    const gwTarget = gate(newPersons(personSequence()));
    const targets = [base(newPersons(throwaway)), gwTarget];
    if (grown) {
      targets.push({
        ...gate(newPersons(personSequence())),
        key: 'grown',
        proc: grown,
        headers: headersFor(grownToken),
      });
    }
    const r = await measure(
      'new-person',
      withBefore(targets, { ...gwTarget, requests: newPersons(personSequence()) }),
    );
    summary['new-person'] = { base: r.baseline, gw: r.gateway, before: r.before };
    if (grown) summary.grown = { base: r.baseline, gw: r.grown, ref: r.gateway };
  }
  // Servers whose scenarios are done stop now: fewer idle processes (timers, jobs) in later ones.
  await grown?.stop();
  if (needs('same-person')) {
    const same = JSON.stringify(person(424242));
    const gwTarget = gate(() => [post(same)]);
    const r = await measure('same-person', withBefore([base(() => [post(same)]), gwTarget], gwTarget));
    summary['same-person'] = { base: r.baseline, gw: r.gateway, before: r.before };
  }
  if (needs('invalid')) {
    const bodies = cycling(INVALID_BODIES, post);
    // The baseline rejects only schema failures; domain-rule failures pass its schema.
    const gwTarget = gate(bodies, [400]);
    const r = await measure('invalid', withBefore([base(bodies, [200, 400]), gwTarget], gwTarget));
    summary.invalid = { base: r.baseline, gw: r.gateway, before: r.before };
  }
  if (needs('query')) {
    const n = QUICK ? 200 : 2000;
    const ids = await createFlows(gw, headersFor(token), personSequence(), n);
    const get = (id) => ({ method: 'GET', path: `${FACE}/${id}`, body: undefined });
    const targets = [base(cycling(ids, get)), gate(cycling(ids, get))];
    if (before) {
      const beforeIds = await createFlows(before, headersFor(beforeToken), personSequence(), n);
      targets.push({
        ...gate(cycling(beforeIds, get)),
        key: 'before',
        proc: before,
        headers: headersFor(beforeToken),
      });
    }
    const r = await measure('query', targets);
    summary.query = { base: r.baseline, gw: r.gateway, before: r.before };
  }
  await before?.stop();
  await gw?.stop();
  if (needs('esign-latency')) {
    const appId = 'bench-app';
    const appSecret = 'bench-secret';
    const fake = startProcess(
      'fake-esign',
      [
        CLI,
        'fake-esign',
        '--port',
        '0',
        '--app-id',
        appId,
        '--app-secret',
        appSecret,
        '--latency-ms',
        String(ESIGN_LATENCY_MS),
      ],
      process.env,
      { readLine: true },
    );
    const fakeUrl = await fake.firstLine;
    const env = gatewayEnv('esign', await freePort(), {
      PROVIDER: 'esign',
      ESIGN_BASE_URL: fakeUrl,
      ESIGN_APP_ID: appId,
      ESIGN_APP_SECRET: appSecret,
    });
    const esignToken = await prepareDb(env);
    const esign = await startGateway('gateway-esign', env);
    const r = await measure('esign-latency', [
      {
        ...gate(newPersons(personSequence())),
        proc: esign,
        headers: headersFor(esignToken),
        connections: ESIGN_CONNECTIONS,
        // 500 connections need a few seconds to open the upstream pool and reach a steady state.
        warmup: Math.max(WARMUP, 3),
        duration: Math.max(DURATION, 6),
      },
    ]);
    summary['esign-latency'] = { gw: r.gateway, fakeRss: peakRssMb(fake) };
    await esign.stop();
    await fake.stop();
  }
  if (needs('console-overview')) overview = await consoleOverview(grownEnv);
  if (selected.some((s) => PG_SCENARIOS.includes(s))) {
    if (await postgresAnswers()) await postgresScenarios(headersFor);
    else {
      skipped.push(...selected.filter((s) => PG_SCENARIOS.includes(s)));
      console.error(`!! PostgreSQL at ${PG_ADMIN_URL} does not answer: skipping ${skipped.join(', ')}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL and scale-out

const skipped = [];
/** Databases this run created; dropped at the end, after every server has stopped. */
const pgDatabases = [];
let redisUsed = false;

async function postgresAnswers() {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

async function adminQuery(text) {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

async function createPgDatabase(label) {
  const name = `etc_esign_bench_${label}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  pgDatabases.push(name);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropPgDatabases() {
  for (const name of pgDatabases.splice(0)) {
    await adminQuery(`drop database if exists ${name} with (force)`).catch((err) =>
      console.error(`!! could not drop database ${name}: ${err.message}`),
    );
  }
}

/** The rate-limit keys the scale-out gateways left in the bench's own Redis database. */
async function cleanRedis() {
  const redis = new Redis(BENCH_REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'etc-esign:*', 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Keys passed by environment: every process on one database must encrypt and index alike. */
const sharedKeys = () => ({
  ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
  BLIND_INDEX_KEY: randomBytes(32).toString('base64'),
});

async function postgresScenarios(headersFor) {
  // One database for the single gateway and, after it, the scale-out processes: one migration and
  // one token fewer to prepare, and the scale-out starts on a table that already holds rows.
  const keys = sharedKeys();
  const dbEnv = { DATABASE_URL: await createPgDatabase('gw'), ...keys };
  const first = gatewayEnv('pg', await freePort(), dbEnv);
  const token = await prepareDb(first);
  if (needs('new-person-pg', 'same-person-pg')) {
    const refPort = await freePort();
    const ref = startProcess('baseline-pg', [path.join(BENCH, 'baseline-pg.mjs')], {
      ...process.env,
      PORT: String(refPort),
      DATABASE_URL: await createPgDatabase('ref'),
    });
    ref.url = `http://127.0.0.1:${refPort}`;
    const [gw] = await Promise.all([startGateway('gateway-pg', first), waitReady(ref.url, ref)]);
    const pair = (refRequests, gwRequests) => [
      { key: 'pg-ref', proc: ref, headers: headersFor(token), requests: refRequests, expect: [200] },
      { key: 'gateway', proc: gw, headers: headersFor(token), requests: gwRequests, expect: [200] },
    ];
    if (needs('new-person-pg')) {
      const r = await measure(
        'new-person-pg',
        pair(newPersons(personSequence()), newPersons(personSequence())),
      );
      summary['new-person-pg'] = { base: r['pg-ref'], gw: r.gateway };
    }
    if (needs('same-person-pg')) {
      const same = JSON.stringify(person(434343));
      const r = await measure(
        'same-person-pg',
        pair(
          () => [post(same)],
          () => [post(same)],
        ),
      );
      summary['same-person-pg'] = { base: r['pg-ref'], gw: r.gateway };
    }
    await Promise.all([gw.stop(), ref.stop()]);
  }
  if (needs('scale-out')) {
    redisUsed = true;
    await cleanRedis();
    const envs = [];
    for (const n of SCALE_OUT) {
      envs.push(gatewayEnv(`scale-${n}`, await freePort(), { ...dbEnv, REDIS_URL: BENCH_REDIS_URL }));
    }
    const gws = await Promise.all(envs.map((env, i) => startGateway(`gateway-scale-${i + 1}`, env)));
    const seq = personSequence();
    const r = await measure(
      'scale-out',
      SCALE_OUT.map((n) => ({
        key: `${n} proc`,
        procs: gws.slice(0, n),
        headers: headersFor(token),
        requests: newPersons(seq),
        expect: [200],
      })),
    );
    summary['scale-out'] = { byProcesses: Object.fromEntries(SCALE_OUT.map((n) => [n, r[`${n} proc`]])) };
    await Promise.all(gws.map((g) => g.stop()));
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const round = (x, digits = 2) => (x === null || x === undefined ? null : Number(x.toFixed(digits)));

function report() {
  const scenarios = {};
  const baselines = {};
  const counts = {};
  const rows = [];
  const row = (scenario, server, m, ratio, target, pass) =>
    rows.push([
      scenario,
      server,
      m.rps.toFixed(0),
      String(round(m.p50, 1)),
      String(round(m.p99, 1)),
      String(m.rss ?? '?'),
      m.cpuPerReq === null ? '?' : m.cpuPerReq.toFixed(2),
      ratio === null ? '' : ratio.toFixed(2),
      target ?? '',
      pass === null ? '' : pass ? 'yes' : 'NO',
      String(m.non2xx),
      String(m.unexpected),
      String(m.errors),
    ]);
  for (const name of ALL) {
    const s = summary[name];
    if (!s || name === 'console-overview') continue;
    const t = TARGETS[name];
    if (name === 'scale-out') {
      const one = s.byProcesses[SCALE_OUT[0]];
      const processes = {};
      for (const n of SCALE_OUT) {
        const m = s.byProcesses[n];
        row(name, `${n} process${n > 1 ? 'es' : ''}`, m, m.rps / one.rps, t.text, null);
        processes[n] = {
          rps: Math.round(m.rps),
          p50_ms: round(m.p50, 1),
          p99_ms: round(m.p99, 1),
          rss_mb: m.rss,
          ratio: round(m.rps / one.rps),
          cpu_ms_per_req: round(m.cpuPerReq, 3),
        };
        counts[`${name}-${n}`] = { non2xx: m.non2xx, unexpected: m.unexpected, errors: m.errors };
      }
      scenarios[name] = { processes, target: t.text, pass: null };
      continue;
    }
    const ratio =
      name === 'esign-latency'
        ? s.gw.rps / THEORETICAL_ESIGN_RPS
        : name === 'grown'
          ? s.gw.rps / s.ref.rps
          : s.gw.rps / s.base.rps;
    const p99ok = !t.p99Max || s.gw.p99 <= t.p99Max;
    const pass =
      t.min === null ? null : ratio >= t.min && p99ok && s.gw.unexpected === 0 && s.gw.errors === 0;
    scenarios[name] = {
      rps: Math.round(s.gw.rps),
      p50_ms: round(s.gw.p50, 1),
      p99_ms: round(s.gw.p99, 1),
      rss_mb: s.gw.rss,
      cpu_ms_per_req: round(s.gw.cpuPerReq, 3),
      ratio: round(ratio),
      target: t.text,
      pass,
    };
    if (s.before) {
      row(name, 'before', s.before, s.before.rps / s.base.rps, null, null);
      scenarios[name].before = {
        rps: Math.round(s.before.rps),
        p50_ms: round(s.before.p50, 1),
        p99_ms: round(s.before.p99, 1),
        rss_mb: s.before.rss,
        cpu_ms_per_req: round(s.before.cpuPerReq, 3),
        ratio: round(s.before.rps / s.base.rps),
      };
    }
    counts[name] = {
      non2xx: s.gw.non2xx,
      unexpected: s.gw.unexpected,
      errors: s.gw.errors,
      cpu_ms_per_req: round(s.gw.cpuPerReq, 3),
    };
    if (s.base && name !== 'grown') {
      baselines[name] = {
        rps: Math.round(s.base.rps),
        p50_ms: round(s.base.p50, 1),
        p99_ms: round(s.base.p99, 1),
        rss_mb: s.base.rss,
        cpu_ms_per_req: round(s.base.cpuPerReq, 3),
      };
      row(name, name.endsWith('-pg') ? 'pg-ref' : 'baseline', s.base, null, null, null);
    }
    row(
      name,
      name === 'esign-latency'
        ? 'gw-esign'
        : name === 'grown'
          ? 'gw-grown'
          : name.endsWith('-pg')
            ? 'gw-pg'
            : 'gateway',
      s.gw,
      ratio,
      t.text,
      pass,
    );
  }
  const head = [
    'scenario',
    'server',
    'req/s',
    'p50 ms',
    'p99 ms',
    'RSS MB',
    'cpu ms/req',
    'ratio',
    'target',
    'pass',
    'non2xx',
    'unexpected',
    'errors',
  ];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells.map((c, i) => (i < 2 || i === 8 ? c.padEnd(width[i]) : c.padStart(width[i]))).join('  ');
  console.log(`\n${line(head)}\n${width.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows) console.log(line(r));
  console.log(
    'ratio: gateway ÷ baseline req/s (medians of the same interleaved rounds); esign-latency: ÷ theoretical ' +
      `${ESIGN_CONNECTIONS} conns ÷ (${ESIGN_CALLS_PER_NEW_FLOW}×${ESIGN_LATENCY_MS} ms) = ${THEORETICAL_ESIGN_RPS} req/s; ` +
      'grown: ÷ new-person gateway req/s from the same rounds. -pg: ÷ pg-ref (bare Fastify, one SELECT + one INSERT over pg). ' +
      `scale-out: new persons on ${SCALE_OUT.join('/')} gateway processes sharing PostgreSQL and Redis, ${CONNECTIONS} connections spread over their ports, ÷ 1 process; cpu summed over the processes. ` +
      'cpu ms/req: server CPU time ÷ answers. ' +
      'unexpected: statuses other than the expected ones.',
  );
  if (seeding)
    console.log(`grown: seeded ${seeding.flows} flows / ${seeding.persons} persons in ${seeding.seconds}s`);
  if (overview) {
    const ms = (store) => overview[store]?.['30d'].median_ms ?? null;
    const pass = [ms('sqlite'), ms('postgres')].every((m) => m !== null && m < OVERVIEW_TARGET_MS);
    scenarios['console-overview'] = {
      sqlite_ms: ms('sqlite'),
      postgres_ms: ms('postgres'),
      target: TARGETS['console-overview'].text,
      pass,
      seeded_flows: SEED_FLOWS,
      detail: { sqlite: overview.sqlite, postgres: overview.postgres, seeding: overview.seeding },
    };
    console.log(
      `\nconsole-overview (${SEED_FLOWS.toLocaleString('en')} seeded flows, GET /console/api/overview?range=30d, median of ${OVERVIEW_RUNS}): ` +
        `SQLite ${ms('sqlite')} ms, PostgreSQL ${ms('postgres') ?? 'not run'} ms — target < ${OVERVIEW_TARGET_MS} ms: ${pass ? 'yes' : 'NO'}`,
    );
  }

  const cpus = os.cpus();
  const json = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpus[0]?.model ?? 'unknown',
      cores: cpus.length,
      quick: QUICK,
      repetitions: REPS,
      duration_s: DURATION,
      warmup_s: WARMUP,
      connections: CONNECTIONS,
      esign: {
        connections: ESIGN_CONNECTIONS,
        latency_ms: ESIGN_LATENCY_MS,
        calls_per_new_flow: ESIGN_CALLS_PER_NEW_FLOW,
        theoretical_rps: THEORETICAL_ESIGN_RPS,
        fake_rss_mb: summary['esign-latency']?.fakeRss ?? null,
      },
      seeding,
      baselines,
      counts,
      wall_s: Math.round((Date.now() - started) / 1000),
      cpu_pressure_pct:
        stallAtStart === null ? null : round((cpuStallUs() - stallAtStart) / 10 / (Date.now() - started), 1),
      crashed,
      skipped,
      postgres: PG_SCENARIOS.some((n) => summary[n]) ? PG_ADMIN_URL.replace(/\/\/[^@/]*@/, '//') : null,
    },
    scenarios,
  };
  fs.writeFileSync(path.join(RESULTS, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
  console.log(
    `wrote bench/results/latest.json (${json.meta.wall_s}s in all; CPU pressure ${json.meta.cpu_pressure_pct ?? '?'}% — ` +
      'share of time some task waited for a CPU)',
  );
  const measured = Object.values(summary).flatMap((s) =>
    s.byProcesses ? Object.values(s.byProcesses) : [s.gw, s.base, s.before].filter(Boolean),
  );
  return measured.some((m) => m.unexpected || m.errors);
}

let failed = false;
process.on('exit', () => {
  for (const proc of procs) proc.child.kill('SIGKILL');
});
process.once('SIGINT', () => process.exit(130));
try {
  await main();
} catch (err) {
  console.error(`bench failed: ${err.stack ?? err}`);
  failed = true;
}
// Graceful stops: a gateway writes its CPU profile only when it exits normally.
await Promise.all([...procs].map((proc) => proc.stop()));
await dropPgDatabases();
if (redisUsed) await cleanRedis().catch((err) => console.error(`!! could not clean Redis: ${err.message}`));
if ((Object.keys(summary).length > 0 || overview) && report()) failed = true;
if (crashed.length > 0) {
  console.error(`crashed:\n  ${crashed.join('\n  ')}`);
  failed = true;
}
if (opt.profile) {
  const { summarize } = await import('./profile-summary.mjs');
  for (const f of fs.readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'))) {
    console.log(`\n== ${f} (top self time)`);
    console.log(summarize(JSON.parse(fs.readFileSync(path.join(profileDir, f), 'utf8')), 25));
  }
}
fs.rmSync(work, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
