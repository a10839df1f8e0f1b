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
import pg from 'pg';
import { INVALID_BODIES, person, personSequence } from './people.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH);
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
const ALL = ['new-person', 'same-person', 'invalid', 'query', 'esign-latency', 'grown', 'console-overview'];
/** The console's 30-day overview on the seeded database must answer within this, on both stores. */
const OVERVIEW_TARGET_MS = 300;
const OVERVIEW_RUNS = QUICK ? 5 : 20;
const PG_ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const selected = opt.only ? opt.only.split(',') : ALL;
for (const s of selected) if (!ALL.includes(s)) throw new Error(`unknown scenario ${s}; known: ${ALL}`);

const TARGETS = {
  'new-person': { min: 0.35, p99Factor: 4, text: '≥0.35×base, p99≤4×base' },
  'same-person': { min: 0.6, text: '≥0.60×base' },
  invalid: { min: 0.7, text: '≥0.70×base' },
  query: { min: 0.6, text: '≥0.60×base' },
  'esign-latency': { min: 0.85, text: `≥0.85×${THEORETICAL_ESIGN_RPS} (theory)` },
  grown: { min: 0.8, text: '≥0.80×new-person' },
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
    ...extra,
  };
}

const run = promisify(execFile);
async function cli(env, ...args) {
  const { stdout } = await run(process.execPath, [CLI, ...args], { env, maxBuffer: 1 << 20 });
  return stdout.trim();
}

/** Migrates a fresh database and returns a token of the `bench` client. */
async function prepareDb(env) {
  await cli(env, 'migrate');
  await cli(env, 'client', 'create', 'bench');
  return cli(env, 'token', 'create', '--client', 'bench');
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

async function startGateway(name, env) {
  const prof = opt.profile
    ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`]
    : [];
  const proc = startProcess(name, [...prof, opt['gateway-cli'] ?? CLI, 'serve'], env);
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
  const cpuBefore = cpuMs(target.proc);
  const result = await autocannon({
    url: target.proc.url,
    connections: target.connections ?? CONNECTIONS,
    duration: seconds,
    timeout: 30,
    headers: target.headers,
    requests: target.requests(),
  });
  const cpu = cpuMs(target.proc) - cpuBefore;
  let unexpected = 0;
  for (const [status, { count }] of Object.entries(result.statusCodeStats)) {
    if (!target.expect.includes(Number(status))) unexpected += count;
  }
  // autocannon abandons the requests in flight when the time is up, but the server finishes them:
  // let it, so they do not eat into the next run (with 500 slow upstream calls that takes seconds).
  await sleep(Math.min(15_000, Math.max(200, 1.5 * result.latency.p99)));
  return {
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    // CPU per answer hardly depends on how much CPU the neighbours took: the steadiest number here.
    cpuPerReq: result.requests.total ? cpu / result.requests.total : null,
    non2xx: result.non2xx,
    unexpected,
    // A run without a single answer is broken even if nothing errored.
    errors: result.errors + result.timeouts + (result.requests.total === 0 ? 1 : 0),
    statuses: Object.fromEntries(Object.entries(result.statusCodeStats).map(([s, { count }]) => [s, count])),
  };
}

/**
 * Warms every target up once, then runs `REPS` rounds of all targets one after the other, so
 * slow minutes of a noisy machine hit every target alike. Peak RSS is the peak over the scenario.
 */
async function measure(scenario, targets) {
  for (const t of targets) resetPeakRss(t.proc);
  for (const t of targets) await load(t, t.warmup ?? WARMUP);
  const runs = new Map(targets.map((t) => [t.key, []]));
  for (let rep = 0; rep < REPS; rep++) {
    for (const t of targets) {
      const r = await load(t, t.duration ?? DURATION);
      runs.get(t.key).push(r);
      const bad =
        r.unexpected || r.errors ? `  !! statuses ${JSON.stringify(r.statuses)} errors ${r.errors}` : '';
      console.log(
        `  ${scenario.padEnd(13)} ${t.key.padEnd(8)} rep ${rep + 1}: ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  cpu ${r.cpuPerReq?.toFixed(2)} ms/req${bad}`,
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
      rss: peakRssMb(t.proc),
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

  // The grown database is seeded before any server runs load, so seeding does not disturb numbers.
  let grown = null;
  let grownToken = null;
  let grownEnv = null;
  if (needs('grown')) {
    const env = gatewayEnv('grown', await freePort());
    grownEnv = env;
    grownToken = await prepareDb(env);
    console.log(`seeding ${SEED_FLOWS.toLocaleString('en')} flows…`);
    const db = path.join(env.DATA_DIR, 'etc-esign.sqlite');
    const seedArgs = [path.join(BENCH, 'seed-flows.mjs'), '--db', db, '--flows', String(SEED_FLOWS)];
    seeding = JSON.parse(
      (await run(process.execPath, [...seedArgs, '--base-url', env.PUBLIC_BASE_URL])).stdout,
    );
    console.log(`seeded ${seeding.flows} flows / ${seeding.persons} persons in ${seeding.seconds}s`);
    grown = await startGateway('gateway-grown', env);
  }

  let gw = null;
  let token = null;
  if (needs('new-person', 'same-person', 'invalid', 'query', 'grown')) {
    const env = gatewayEnv('sandbox', await freePort());
    token = await prepareDb(env);
    gw = await startGateway('gateway', env);
  }

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
    const targets = [base(newPersons(throwaway)), gate(newPersons(personSequence()))];
    if (grown) {
      targets.push({
        ...gate(newPersons(personSequence())),
        key: 'grown',
        proc: grown,
        headers: headersFor(grownToken),
      });
    }
    const r = await measure('new-person', targets);
    summary['new-person'] = { base: r.baseline, gw: r.gateway };
    if (grown) summary.grown = { base: r.baseline, gw: r.grown, ref: r.gateway };
  }
  // Servers whose scenarios are done stop now: fewer idle processes (timers, jobs) in later ones.
  await grown?.stop();
  if (needs('same-person')) {
    const same = JSON.stringify(person(424242));
    const r = await measure('same-person', [base(() => [post(same)]), gate(() => [post(same)])]);
    summary['same-person'] = { base: r.baseline, gw: r.gateway };
  }
  if (needs('invalid')) {
    const bodies = cycling(INVALID_BODIES, post);
    // The baseline rejects only schema failures; domain-rule failures pass its schema.
    const r = await measure('invalid', [base(bodies, [200, 400]), gate(bodies, [400])]);
    summary.invalid = { base: r.baseline, gw: r.gateway };
  }
  if (needs('query')) {
    const ids = await createFlows(gw, headersFor(token), personSequence(), QUICK ? 200 : 2000);
    const get = (id) => ({ method: 'GET', path: `${FACE}/${id}`, body: undefined });
    const r = await measure('query', [base(cycling(ids, get)), gate(cycling(ids, get))]);
    summary.query = { base: r.baseline, gw: r.gateway };
  }
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
  }
  if (needs('console-overview')) overview = await consoleOverview(grownEnv);
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
    const ratio =
      name === 'esign-latency'
        ? s.gw.rps / THEORETICAL_ESIGN_RPS
        : name === 'grown'
          ? s.gw.rps / s.ref.rps
          : s.gw.rps / s.base.rps;
    const p99ok = !t.p99Factor || s.gw.p99 <= t.p99Factor * s.base.p99;
    const pass = ratio >= t.min && p99ok && s.gw.unexpected === 0 && s.gw.errors === 0;
    scenarios[name] = {
      rps: Math.round(s.gw.rps),
      p50_ms: round(s.gw.p50, 1),
      p99_ms: round(s.gw.p99, 1),
      rss_mb: s.gw.rss,
      ratio: round(ratio),
      target: t.text,
      pass,
    };
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
      row(name, 'baseline', s.base, null, null, null);
    }
    row(
      name,
      name === 'esign-latency' ? 'gw-esign' : name === 'grown' ? 'gw-grown' : 'gateway',
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
  if (rows.length > 0) {
    console.log(`\n${line(head)}\n${width.map((w) => '-'.repeat(w)).join('  ')}`);
    for (const r of rows) console.log(line(r));
    console.log(
      'ratio: gateway ÷ baseline req/s (medians of the same interleaved rounds); esign-latency: ÷ theoretical ' +
        `${ESIGN_CONNECTIONS} conns ÷ (${ESIGN_CALLS_PER_NEW_FLOW}×${ESIGN_LATENCY_MS} ms) = ${THEORETICAL_ESIGN_RPS} req/s; ` +
        'grown: ÷ new-person gateway req/s from the same rounds. cpu ms/req: server CPU time ÷ answers. ' +
        'unexpected: statuses other than the expected ones.',
    );
  }
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
    },
    scenarios,
  };
  fs.writeFileSync(path.join(RESULTS, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
  console.log(
    `wrote bench/results/latest.json (${json.meta.wall_s}s in all; CPU pressure ${json.meta.cpu_pressure_pct ?? '?'}% — ` +
      'share of time some task waited for a CPU)',
  );
  return Object.values(summary).some(
    (s) => s.gw?.unexpected || s.gw?.errors || s.base?.unexpected || s.base?.errors,
  );
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
