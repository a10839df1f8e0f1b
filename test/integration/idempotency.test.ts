import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import type { FaceProvider, StartFaceInput } from '../../src/providers/provider.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/databases.js';
import { type ApiResponse, api, FACE, startGateway, type TestGateway } from '../support/gateway.js';
import { person } from '../support/people.js';

const KEY = 'Idempotency-Key';
const MISMATCH = {
  field: KEY,
  code: 'IDEMPOTENCY_MISMATCH',
  message: '该 Idempotency-Key 已用于内容不同的请求，请为新请求使用新的 Idempotency-Key',
};
const IN_FLIGHT = '相同 Idempotency-Key 的请求正在处理中，请稍后重试';

/** The consent text version the sandbox page shows (posted back with the person's answer). */
async function consentVersion(originalUrl: string): Promise<string> {
  const html = await (await fetch(originalUrl)).text();
  const version = /name="consentVersion" value="([0-9a-f]{64})"/.exec(html)?.[1];
  if (!version) throw new Error('the sandbox page shows no consent version');
  return version;
}

describe.each(await storeKinds())('Idempotency-Key on %s', (kind) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let seed = kind === 'sqlite' ? 60_000 : 61_000;
  const next = () => person(seed++);
  let keys = 0;
  const newKey = () => `order-${kind}-${++keys}`;
  /** What the provider does next: hold a start until released, or fail it once. */
  let gate: Promise<void> | null = null;
  let failNext = false;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    gw = await startGateway({
      db,
      env: { RATE_LIMIT_PER_TOKEN: '100000' },
      wrapProvider: (p: FaceProvider) =>
        new Proxy(p, {
          get(target, prop, receiver) {
            if (prop === 'startFace') {
              return async (input: StartFaceInput) => {
                if (gate) await gate;
                if (failNext) {
                  failNext = false;
                  throw new AppError('upstream_unavailable');
                }
                return target.startFace(input);
              };
            }
            const v = Reflect.get(target, prop, receiver);
            return typeof v === 'function' ? v.bind(target) : v;
          },
        }),
    });
  });
  afterAll(async () => {
    await gw?.close();
    await db?.drop();
  });
  beforeEach(() => {
    gate = null;
    failNext = false;
  });

  const post = (body: unknown, key: string, client: Pick<TestGateway, 'url' | 'token'> = gw) =>
    api(client, 'POST', FACE, body, { [KEY]: key });

  it('replays the stored answer for the same key and body, marked Idempotent-Replayed', async () => {
    const p = next();
    const calls = gw.startCalls();
    const key = newKey();
    const first = await post(p, key);
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await post(p, key);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.data).toEqual(first.body.data);
    expect(again.body.requestId).not.toBe(first.body.requestId);
    expect(gw.startCalls() - calls).toBe(1);
  });

  it('keeps no link with the key, only the ids that rebuild the answer, and whom it concerns', async () => {
    const key = newKey();
    const first = await post(next(), key);
    const flowId = first.body.data.flowId as string;
    const row = await gw.runtime.store.db
      .selectFrom('idempotency_keys')
      .select(['response_body', 'person_id'])
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    const flow = await gw.runtime.store.db
      .selectFrom('flows')
      .select('person_id')
      .where('id', '=', flowId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({
      response_body: JSON.stringify({ outcome: 'created', flowId, esignAccountId: null }),
      person_id: flow.person_id,
    });
  });

  it('replays a verified answer as it was', async () => {
    const p = next();
    const started = await post(p, newKey());
    const done = await fetch(started.body.data.originalUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `consent=yes&result=success&consentVersion=${await consentVersion(started.body.data.originalUrl)}`,
      redirect: 'manual',
    });
    expect(done.status).toBe(303);
    const key = newKey();
    const first = await post(p, key);
    expect(first.body.data).toMatchObject({ message: 'verified', authUrl: '', originalUrl: '', expire: '' });
    const again = await post(p, key);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.data).toEqual(first.body.data);
  });

  it("an erasure request deletes the keys of that client for the person, not another client's", async () => {
    const p = next();
    const key = newKey();
    const first = await post(p, key);
    const otherClient = { url: gw.url, token: await gw.newClient(`idem-erase-${kind}`) };
    const theirs = await post(p, key, otherClient);

    const erased = await api(gw, 'POST', '/esign/api/persons/erase', { idNumber: p.idNumber });
    expect(erased.body.data).toEqual({ erasedFlows: 1 });

    // Our key is gone: the same key and body do the work again (a new flow).
    const again = await post(p, key);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(again.body.data.flowId).not.toBe(first.body.data.flowId);
    // The other client's key still answers its own first answer.
    const theirsAgain = await post(p, key, otherClient);
    expect(theirsAgain.headers.get('idempotent-replayed')).toBe('true');
    expect(theirsAgain.body.data).toEqual(theirs.body.data);
  });

  it('refuses the same key with another body, and keeps keys apart per client', async () => {
    const key = newKey();
    const p = next();
    const first = await post(p, key);
    const other = await post(next(), key);
    expect(other.status).toBe(400);
    expect(other.body).toMatchObject({
      responseCode: '400',
      responseMsg: '请求参数错误',
      data: { errors: [MISMATCH] },
    });

    const otherClient = { url: gw.url, token: await gw.newClient(`idem-${kind}`) };
    const theirs = await post(p, key, otherClient);
    expect(theirs.status).toBe(200);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(theirs.body.data.flowId).not.toBe(first.body.data.flowId);
  });

  it('answers 409 while the first request with the key is still running', async () => {
    let release = () => {};
    gate = new Promise((r) => {
      release = r;
    });
    const p = next();
    const key = newKey();
    const first = post(p, key);
    await new Promise((r) => setTimeout(r, 150));
    const second = await post(p, key);
    expect(second.status).toBe(409);
    expect(second.body).toEqual({
      requestId: expect.any(String),
      responseCode: '409',
      responseMsg: IN_FLIGHT,
      data: null,
    });
    release();
    expect((await first).status).toBe(200);
  });

  it('releases the key when the request failed, so a retry with it does the work', async () => {
    failNext = true;
    const p = next();
    const key = newKey();
    expect((await post(p, key)).status).toBe(503);
    const retry = await post(p, key);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
  });

  it('forgets a key after 24 hours', async () => {
    const key = newKey();
    expect((await post(next(), key)).status).toBe(200);
    gw.advance(24 * 3600_000 + 1000);
    const later = await post(next(), key);
    expect(later.status).toBe(200);
    expect(later.headers.get('idempotent-replayed')).toBeNull();
  });

  it.each([
    ['longer than 64 characters', 'k'.repeat(65), 'TOO_LONG', 'Idempotency-Key 不能超过64个字符'],
    ['with a tab', 'order\t1', 'KEY_FORMAT', 'Idempotency-Key 须为1–64个可打印ASCII字符'],
    ['with a non-ASCII byte', 'order-\u00e9', 'KEY_FORMAT', 'Idempotency-Key 须为1–64个可打印ASCII字符'],
    ['empty', '', 'KEY_FORMAT', 'Idempotency-Key 须为1–64个可打印ASCII字符'],
  ])('refuses a key %s with 400 naming the header', async (_what, key, code, message) => {
    const r = await post(next(), key);
    expect(r.status).toBe(400);
    expect(r.body.data).toEqual({ errors: [{ field: KEY, code, message }] });
  });

  it('20 concurrent requests with one key: one flow, one fresh answer, the rest replays or 409', async () => {
    const p = next();
    const key = newKey();
    const calls = gw.startCalls();
    let release = () => {};
    gate = new Promise((r) => {
      release = r;
    });
    const pending = Array.from({ length: 20 }, () => post(p, key));
    setTimeout(() => release(), 100);
    const results: ApiResponse[] = await Promise.all(pending);
    expect(gw.startCalls() - calls).toBe(1);
    const fresh = results.filter((r) => r.status === 200 && r.headers.get('idempotent-replayed') === null);
    const replays = results.filter((r) => r.headers.get('idempotent-replayed') === 'true');
    const conflicts = results.filter((r) => r.status === 409);
    expect(fresh).toHaveLength(1);
    expect(replays.length + conflicts.length).toBe(19);
    for (const r of replays) expect(r.body.data).toEqual(fresh[0]?.body.data);
    const after = await post(p, key);
    expect(after.headers.get('idempotent-replayed')).toBe('true');
    expect(after.body.data.flowId).toBe(fresh[0]?.body.data.flowId);
  });
});
