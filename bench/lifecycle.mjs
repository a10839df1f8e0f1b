/**
 * `node bench/lifecycle.mjs <DATABASE_URL>` (after `npm run build`): how long one retention batch
 * and one re-encryption batch take over 20,000 flows — the time the API may wait
 * behind one. Uses the database given (make a throwaway one); the data dir is a temp directory.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';

const ROOT = new URL('../dist', import.meta.url).pathname;
const { loadConfig } = await import(`${ROOT}/config.js`);
const { createRuntime } = await import(`${ROOT}/runtime.js`);
const store = await import(`${ROOT}/store/lifecycle-store.js`);
const keys = await import(`${ROOT}/services/lifecycle/key-rotation.js`);
const { RETENTION_BATCH } = await import(`${ROOT}/services/lifecycle/retention.js`);
const url = process.argv[2];
const rt = await createRuntime(
  loadConfig({
    DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'lcbench-')),
    DATABASE_URL: url,
    ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')},k2:${randomBytes(32).toString('base64')}`,
    BLIND_INDEX_KEY: randomBytes(32).toString('base64'),
  }),
  pino({ level: 'silent' }),
);
const cid = randomUUID();
await rt.store.db
  .insertInto('clients')
  .values({ id: cid, name: 'b', sys_ids: 'E02', created_at: 1 })
  .execute();
const pid = randomUUID();
await rt.store.db
  .insertInto('persons')
  .values({
    id: pid,
    id_index: 'x',
    name_enc: rt.cipher.encrypt('张三'),
    id_number_enc: rt.cipher.encrypt('1'),
    id_kind: 'CN',
    created_at: 1,
  })
  .execute();
const N = 20000;
/** N flows of one person, 1,000 per insert; `fingerprint` null gives each a random one. */
async function seedFlows(status, fingerprint) {
  for (let i = 0; i < N; i += 1000) {
    await rt.store.db
      .insertInto('flows')
      .values(
        Array.from({ length: 1000 }, () => ({
          id: randomUUID(),
          client_id: cid,
          person_id: pid,
          provider: 'sandbox',
          status,
          fingerprint: fingerprint ?? randomBytes(32).toString('hex'),
          short_code: randomBytes(32).toString('hex'),
          short_code_enc: rt.cipher.encrypt('code'),
          original_url: rt.cipher.encrypt('http://x/y'),
          name_enc: rt.cipher.encrypt('张三'),
          mobile_enc: rt.cipher.encrypt('13900000000'),
          valid_period_enc: rt.cipher.encrypt('2020.01.01-2040.01.01'),
          created_at: 1,
          updated_at: 1,
        })),
      )
      .execute();
  }
}
await seedFlows('SUCCESS', null);
const times = [];
for (;;) {
  const t = performance.now();
  const n = await store.eraseFlowsPastRetention(rt.store.db, {
    finalBefore: Date.now(),
    now: Date.now(),
    limit: RETENTION_BATCH,
    skipLocked: rt.store.dialect === 'postgres',
  });
  times.push(performance.now() - t);
  if (n < RETENTION_BATCH) break;
}
times.sort((a, b) => a - b);
const q = (p) => times[Math.floor(p * (times.length - 1))].toFixed(2);
console.log(
  `${rt.store.dialect} retention: ${times.length} batches of ${RETENTION_BATCH} over ${N} flows, median ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${q(1)} ms`,
);
// re-encryption batches
await rt.store.db.deleteFrom('flows').execute();
await seedFlows('PENDING', 'f');
await keys.rotateKey(rt, { kind: 'cli', id: 'bench' }, { to: 'k2' });
const t0 = performance.now();
let batches = 0;
for (;;) {
  const r = await keys.reencrypt(rt, { maxBatches: 1 });
  batches++;
  if (r.done) break;
}
const total = performance.now() - t0;
console.log(
  `${rt.store.dialect} re-encryption: ${N} flows in ${batches} calls, ${(total / batches).toFixed(1)} ms per batch of ${keys.REENCRYPT_BATCH} (decrypt+encrypt included), ${(total / 1000).toFixed(1)} s total`,
);
await rt.close();
