/**
 * Fills a migrated SQLite or PostgreSQL database with N existing flows (and their persons) for the
 * `grown` and `console-overview` scenarios. Going through the API would take hours; direct inserts with prepared statements in
 * large transactions take seconds. Encrypted columns get placeholders of the real shape
 * (`k1.<base64url(nonce|ciphertext|tag)>`, same lengths) because the bench never decrypts them;
 * blind indexes are random, so no seeded person collides with a bench person.
 *
 * Flows are created at every hour of the past year, so the console's hourly statistics have a
 * realistic number of rows; after loading, those statistics are recounted from the flows with the
 * gateway's own code (`rebuildFlowStats`, from `dist/`: run `npm run build` first).
 *
 * Usage: node bench/seed-flows.mjs (--db FILE | --database-url postgres://…) --flows N
 *          [--client bench] [--base-url URL]
 * Prints one JSON line: { persons, flows, clients, seconds, index_seconds, stats_seconds }.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openStore } from '../dist/store/db.js';
import { rebuildFlowStats } from '../dist/store/stats-store.js';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string' },
    'database-url': { type: 'string' },
    flows: { type: 'string', default: '1000000' },
    client: { type: 'string', default: 'bench' },
    'base-url': { type: 'string', default: 'http://127.0.0.1:8080' },
  },
});
if (!args.db === !args['database-url']) throw new Error('one of --db FILE or --database-url URL is required');
const TOTAL = Number(args.flows);
/**
 * Rows per transaction. Random keys touch every index page, and each commit writes every dirty
 * page, so small batches rewrite the whole index again and again (1M rows took 80 s in 50k
 * batches); with the cache holding the whole database, few large commits write each page ~once.
 */
const BATCH = 500_000;
const DAY = 86_400_000;
const started = performance.now();
const secs = (since) => Number(((performance.now() - since) / 1000).toFixed(1));

const FLOW_COLUMNS = `id, client_id, person_id, provider, provider_flow_id, status, fingerprint, short_code,
  short_code_enc, original_url, expire_at, name_enc, mobile_enc, valid_period_enc, account_id, fail_reason,
  created_at, updated_at, opened_at, completed_at, mobile_index`;
const PERSON_COLUMNS =
  'id, id_index, name_enc, id_number_enc, id_kind, account_id, verified_at, verified_name_index, created_at';
// The columns migration 001 defines, short_code_enc (003) so the gateway finds the links sealed,
// and mobile_index (005) so it does not index them again at start (it would decrypt the
// placeholders): later migrations must add nullable or defaulted columns.
const FLOW_TYPES =
  'text,text,text,text,text,text,text,text,text,text,int8,text,text,text,text,text,int8,int8,int8,int8,text';
const PERSON_TYPES = 'text,text,text,text,text,text,int8,text,int8';

/** Where rows go: better-sqlite3 statements in large transactions, or batched PostgreSQL inserts. */
async function sqliteSink(file) {
  const db = new Database(file);
  // Bulk-load settings for this connection only; the gateway opens its own with its own pragmas.
  db.pragma('journal_mode = OFF'); // no rollback journal while loading; WAL is restored at the end
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -2097152'); // 2 GiB: every index of 1M random keys stays in memory
  db.pragma('foreign_keys = OFF');
  const insertPerson = db.prepare(`insert into persons (${PERSON_COLUMNS}) values (${'?,'.repeat(8)}?)`);
  const insertFlow = db.prepare(`insert into flows (${FLOW_COLUMNS}) values (${'?,'.repeat(20)}?)`);
  const insertClient = db.prepare(
    'insert into clients (id, name, sys_ids, notify_url, webhook_secret_enc, created_at) values (?, ?, ?, null, null, ?)',
  );
  // Secondary indexes (whatever the migrations defined) are dropped during the load and rebuilt
  // after it: CREATE INDEX sorts once, where a million random-key inserts thrash the CPU cache.
  const indexes = db
    .prepare(
      "select name, sql from sqlite_master where type = 'index' and tbl_name in ('flows', 'persons') and sql is not null",
    )
    .all();
  let inBatch = false;
  let committedAt = 0;
  return {
    clientId: async (name) => db.prepare('select id from clients where name = ?').get(name)?.id,
    addClient: async (id, name, at) => insertClient.run(id, name, 'E02', at),
    dropIndexes: async () => {
      for (const { name } of indexes) db.exec(`drop index "${name}"`);
    },
    person: (row) => {
      if (!inBatch) {
        db.exec('begin');
        inBatch = true;
      }
      insertPerson.run(row);
    },
    flow: (row) => insertFlow.run(row),
    /** Commits every BATCH rows: few large commits write each index page about once. */
    flush: async (force) => {
      if (inBatch && (force || flows - committedAt >= BATCH)) {
        db.exec('commit');
        inBatch = false;
        committedAt = flows;
      }
    },
    recreateIndexes: async () => {
      db.transaction(() => {
        for (const { sql } of indexes) db.exec(sql);
      })();
    },
    close: async () => {
      db.pragma('journal_mode = WAL');
      db.close();
    },
    database: { kind: 'sqlite', file },
  };
}

async function postgresSink(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // Seeded rows reference seeded rows: skip the per-row foreign-key triggers (superuser only).
  await client.query("set session_replication_role = 'replica'");
  const { rows: indexes } = await client.query(
    `select indexname, indexdef from pg_indexes where schemaname = current_schema()
       and tablename in ('flows', 'persons') and indexname not in (
         select conname from pg_constraint where conrelid in ('flows'::regclass, 'persons'::regclass))`,
  );
  const people = [];
  const flowRows = [];
  /** One INSERT … SELECT FROM unnest(arrays) per table and batch: a handful of round trips. */
  const insert = async (table, columns, types, rows) => {
    if (rows.length === 0) return;
    const cols = types.split(',').map((_, i) => rows.map((r) => r[i]));
    const params = types.split(',').map((t, i) => `$${i + 1}::${t}[]`);
    await client.query(`insert into ${table} (${columns}) select * from unnest(${params.join(', ')})`, cols);
    rows.length = 0;
  };
  return {
    clientId: async (name) =>
      (await client.query('select id from clients where name = $1', [name])).rows[0]?.id,
    addClient: async (id, name, at) =>
      client.query(
        'insert into clients (id, name, sys_ids, notify_url, webhook_secret_enc, created_at) values ($1, $2, $3, null, null, $4)',
        [id, name, 'E02', at],
      ),
    dropIndexes: async () => {
      for (const { indexname } of indexes) await client.query(`drop index "${indexname}"`);
    },
    person: (row) => people.push(row),
    flow: (row) => flowRows.push(row),
    flush: async (force) => {
      if (!force && flowRows.length < 20_000) return;
      await insert('persons', PERSON_COLUMNS, PERSON_TYPES, people);
      await insert('flows', FLOW_COLUMNS, FLOW_TYPES, flowRows);
    },
    recreateIndexes: async () => {
      for (const { indexdef } of indexes) await client.query(indexdef);
      await client.query('analyze flows');
      await client.query('analyze persons');
    },
    close: () => client.end(),
    database: { kind: 'postgres', url, poolSize: 2 },
  };
}

const sink = args.db ? await sqliteSink(args.db) : await postgresSink(args['database-url']);
const benchId = await sink.clientId(args.client);
if (!benchId) throw new Error(`no client "${args.client}": run "client create" first`);

// Four other clients, so the bench client's rows sit among others' in every index, as in production.
const clientIds = [benchId, benchId];
for (let i = 1; i <= 4; i++) {
  const id = randomUUID();
  await sink.addClient(id, `seeded-${i}-${id.slice(0, 8)}`, Date.now() - 400 * DAY);
  clientIds.push(id);
}

// Placeholders come from Math.random and a pool of real random bytes: crypto-strength randomness
// per row cost more than the inserts themselves, and nothing here is a secret.
const POOL = randomBytes(1 << 16).toString('base64url');
const BYTE_HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** 64 hex characters, like an HMAC-SHA256 blind index. */
const hex = () => {
  let s = '';
  for (let i = 0; i < 8; i++) {
    const x = (Math.random() * 0x100000000) >>> 0;
    s += BYTE_HEX[x >>> 24] + BYTE_HEX[(x >>> 16) & 255] + BYTE_HEX[(x >>> 8) & 255] + BYTE_HEX[x & 255];
  }
  return s;
};
/** AES-GCM output for a plaintext of `bytes` UTF-8 bytes: nonce(12) + ciphertext + tag(16). */
const enc = (bytes) => {
  const len = Math.ceil(((12 + bytes + 16) * 4) / 3);
  const at = Math.floor(Math.random() * (POOL.length - len));
  return `k1.${POOL.slice(at, at + len)}`;
};
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const base62 = (n) => {
  let s = '';
  for (let i = 0; i < n; i++) s += BASE62[Math.floor(Math.random() * 62)];
  return s;
};

const now = Date.now();
let flows = 0;
let persons = 0;

/**
 * One person and their 1–3 flows. Earlier flows ended SUPERSEDED or EXPIRED; the last one is
 * SUCCESS (person verified), EXPIRED, FAILED or still PENDING. PENDING links expire hours from
 * now, so the expiry sweep has nothing to do during the bench.
 */
function seedPerson(p) {
  const personId = randomUUID();
  const clientId = clientIds[p % clientIds.length];
  const count = Math.min(p % 5 === 0 ? 3 : p % 5 === 1 ? 2 : 1, TOTAL - flows);
  // About 1% still PENDING (a live database has only the last hours' links pending), the rest final.
  const r = p % 100;
  const lastStatus = r < 1 ? 'PENDING' : r < 45 ? 'SUCCESS' : r < 85 ? 'EXPIRED' : 'FAILED';
  const accountId = lastStatus === 'SUCCESS' ? hex().slice(0, 32) : null;
  const nameEnc = enc(9);
  // Spread over every minute of the day too: the hourly statistics get a row for every hour.
  let t = now - (1 + (p % 365)) * DAY - ((p * 7919) % 1440) * 60_000;
  sink.person([personId, hex(), nameEnc, enc(18), 'CN', accountId, accountId && t, accountId && hex(), t]);
  persons++;
  for (let i = 0; i < count; i++) {
    const last = i === count - 1;
    const status = last ? lastStatus : i % 2 ? 'EXPIRED' : 'SUPERSEDED';
    if (status === 'PENDING') t = now - 60_000 * (1 + (p % 60));
    const expire = status === 'PENDING' ? now + (2 + (p % 20)) * 3_600_000 : t + 30 * 60_000;
    const done = status === 'SUCCESS' || status === 'FAILED' ? t + 120_000 : null;
    const providerFlowId = `sbx_${base62(24)}`;
    sink.flow([
      randomUUID(),
      clientId,
      personId,
      'sandbox',
      providerFlowId,
      status,
      hex(),
      hex(),
      enc(12),
      enc(`${args['base-url']}/h5/sandbox/${providerFlowId}`.length),
      expire,
      nameEnc,
      enc(11),
      enc(21),
      status === 'SUCCESS' ? accountId : null,
      status === 'FAILED' ? '活体检测未通过' : null,
      t,
      done ?? t,
      done ? t + 60_000 : null,
      done,
      hex(),
    ]);
    flows++;
    t += 3 * DAY;
  }
}

await sink.dropIndexes();
let next = 0;
while (flows < TOTAL) {
  seedPerson(next++);
  await sink.flush(false);
}
await sink.flush(true);
const loaded = performance.now();
await sink.recreateIndexes();
await sink.close();
const indexed = performance.now();

// The console's hourly statistics, recounted from the flows just loaded by the gateway's own code.
const store = openStore(sink.database);
await rebuildFlowStats(store.db);
await store.close();

process.stdout.write(
  `${JSON.stringify({
    persons,
    flows,
    clients: 4,
    seconds: secs(started),
    index_seconds: Number(((indexed - loaded) / 1000).toFixed(1)),
    stats_seconds: secs(indexed),
  })}\n`,
);
