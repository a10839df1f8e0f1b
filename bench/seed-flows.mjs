/**
 * Fills a migrated SQLite database with N existing flows (and their persons) for the `grown`
 * scenario. Going through the API would take hours; direct inserts with prepared statements in
 * large transactions take seconds. Encrypted columns get placeholders of the real shape
 * (`k1.<base64url(nonce|ciphertext|tag)>`, same lengths) because the bench never decrypts them;
 * blind indexes are random, so no seeded person collides with a bench person.
 *
 * Usage: node bench/seed-flows.mjs --db FILE --flows N [--client bench] [--base-url URL]
 * Prints one JSON line: { persons, flows, clients, seconds, index_seconds }.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string' },
    flows: { type: 'string', default: '1000000' },
    client: { type: 'string', default: 'bench' },
    'base-url': { type: 'string', default: 'http://127.0.0.1:8080' },
  },
});
if (!args.db) throw new Error('--db is required');
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

const db = new Database(args.db);
// Bulk-load settings for this connection only; the gateway opens its own with its own pragmas.
db.pragma('journal_mode = OFF'); // no rollback journal while loading; WAL is restored at the end
db.pragma('synchronous = OFF');
db.pragma('cache_size = -2097152'); // 2 GiB: every index of 1M random keys stays in memory
db.pragma('foreign_keys = OFF');

const bench = db.prepare('select id from clients where name = ?').get(args.client);
if (!bench) throw new Error(`no client "${args.client}": run "client create" first`);

// Four other clients, so the bench client's rows sit among others' in every index, as in production.
const insertClient = db.prepare(
  'insert into clients (id, name, sys_ids, notify_url, webhook_secret_enc, created_at) values (?, ?, ?, null, null, ?)',
);
const clientIds = [bench.id, bench.id];
db.transaction(() => {
  for (let i = 1; i <= 4; i++) {
    const id = randomUUID();
    insertClient.run(id, `seeded-${i}-${id.slice(0, 8)}`, 'E02', Date.now() - 400 * DAY);
    clientIds.push(id);
  }
})();

// The columns migration 001 defines, and short_code_enc (003) so the gateway finds the links
// sealed: later migrations must add nullable or defaulted columns.
const insertPerson = db.prepare(`insert into persons
  (id, id_index, name_enc, id_number_enc, id_kind, account_id, verified_at, verified_name_index, created_at)
  values (?, ?, ?, ?, 'CN', ?, ?, ?, ?)`);
const insertFlow = db.prepare(`insert into flows
  (id, client_id, person_id, provider, provider_flow_id, status, fingerprint, short_code, short_code_enc,
   original_url, expire_at, name_enc, mobile_enc, valid_period_enc, account_id, fail_reason, created_at,
   updated_at, opened_at, completed_at)
  values (?, ?, ?, 'sandbox', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);

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
  let t = now - (1 + (p % 365)) * DAY;
  insertPerson.run(personId, hex(), nameEnc, enc(18), accountId, accountId && t, accountId && hex(), t);
  persons++;
  for (let i = 0; i < count; i++) {
    const last = i === count - 1;
    const status = last ? lastStatus : i % 2 ? 'EXPIRED' : 'SUPERSEDED';
    if (status === 'PENDING') t = now - 60_000 * (1 + (p % 60));
    const expire = status === 'PENDING' ? now + (2 + (p % 20)) * 3_600_000 : t + 30 * 60_000;
    const done = status === 'SUCCESS' || status === 'FAILED' ? t + 120_000 : null;
    const providerFlowId = `sbx_${base62(24)}`;
    insertFlow.run(
      randomUUID(),
      clientId,
      personId,
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
    );
    flows++;
    t += 3 * DAY;
  }
}

// Secondary indexes (whatever the migrations defined) are dropped during the load and rebuilt
// after it: CREATE INDEX sorts once, where a million random-key inserts thrash the CPU cache.
const indexes = db
  .prepare(
    "select name, sql from sqlite_master where type = 'index' and tbl_name in ('flows', 'persons') and sql is not null",
  )
  .all();
for (const { name } of indexes) db.exec(`drop index "${name}"`);

let next = 0;
const batch = db.transaction(() => {
  const end = Math.min(flows + BATCH, TOTAL);
  while (flows < end) seedPerson(next++);
});
while (flows < TOTAL) batch();
const loaded = performance.now();
db.transaction(() => {
  for (const { sql } of indexes) db.exec(sql);
})();
db.pragma('journal_mode = WAL');
db.close();

process.stdout.write(
  `${JSON.stringify({ persons, flows, clients: 4, seconds: secs(started), index_seconds: secs(loaded) })}\n`,
);
