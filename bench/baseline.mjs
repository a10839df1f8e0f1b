/**
 * The ceiling: a bare Fastify 5 server with the gateway's body schema and routes, answering a
 * fixed envelope — no auth, no database, no crypto. Whatever the gateway does beyond this is what
 * the ratios measure. Usage: PORT=n node bench/baseline.mjs
 */
import { baselineApp, FACE_BODY, serve } from './baseline-app.mjs';

const envelope = (data) => ({
  requestId: '00000000-0000-4000-8000-000000000000',
  responseCode: '000',
  responseMsg: '成功',
  data,
});
const START = envelope({
  authUrl: 'http://127.0.0.1/s/AbCdEfGhIjKl',
  originalUrl: 'http://127.0.0.1/h5/sandbox/sbx_AbCdEfGhIjKlMnOpQrStUvWx',
  expire: '2026-11-28T18:30:00+08:00',
  message: 'success',
  flowId: '00000000-0000-4000-8000-000000000000',
});
const QUERY = envelope({
  flowId: '00000000-0000-4000-8000-000000000000',
  status: 'PENDING',
  createdAt: '2026-11-28T18:00:00+08:00',
  expire: '2026-11-28T18:30:00+08:00',
  person: { name: '*三', idNumber: '1101**********002X', mobile: '138****8000' },
});

const app = baselineApp();
app.get('/healthz', async () => envelope({ status: 'ok' }));
app.post('/esign/api/auth/individual/face', { schema: { body: FACE_BODY } }, async () => START);
app.get('/esign/api/auth/individual/face/:flowId', async () => QUERY);

await serve(app);
