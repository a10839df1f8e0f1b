/**
 * The PostgreSQL reference: bare Fastify with the gateway's body schema that does one indexed
 * `SELECT` and one `INSERT` over `pg` per request (named prepared statements, a pool as large as
 * the gateway's default), then answers a fixed envelope. What the gateway does on PostgreSQL
 * beyond this is what the `-pg` ratios measure. Usage: PORT=n DATABASE_URL=postgres://… node
 * bench/baseline-pg.mjs (creates its two tables in that database if missing).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { baselineApp, FACE_BODY, serve } from './baseline-app.mjs';

const POOL_SIZE = 10;

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: POOL_SIZE });
await pool.query(
  `create table if not exists ref_persons (id_number text primary key, created_at bigint not null)`,
);
await pool.query(
  `create table if not exists ref_flows (id text primary key, id_number text not null, name text not null,
     mobile text not null, created_at bigint not null)`,
);

const SELECT = { name: 'ref_select', text: 'select created_at from ref_persons where id_number = $1' };
const INSERT = {
  name: 'ref_insert',
  text: 'insert into ref_flows (id, id_number, name, mobile, created_at) values ($1, $2, $3, $4, $5)',
};

const app = baselineApp();
app.addHook('onClose', () => pool.end());
app.get('/healthz', async () => ({ responseCode: '000', data: { status: 'ok' } }));
app.post('/esign/api/auth/individual/face', { schema: { body: FACE_BODY } }, async (request) => {
  const p = request.body;
  const id = randomUUID();
  await pool.query({ ...SELECT, values: [p.idNumber] });
  await pool.query({ ...INSERT, values: [id, p.idNumber, p.name, p.mobile, Date.now()] });
  return {
    requestId: request.id,
    responseCode: '000',
    responseMsg: '成功',
    data: {
      authUrl: 'http://127.0.0.1/s/AbCdEfGhIjKl',
      originalUrl: 'http://127.0.0.1/h5/sandbox/sbx_AbCdEfGhIjKlMnOpQrStUvWx',
      expire: '2026-11-28T18:30:00+08:00',
      message: 'success',
      flowId: id,
    },
  };
});

await serve(app);
