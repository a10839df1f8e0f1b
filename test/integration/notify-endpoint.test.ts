import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobs } from '../../src/jobs.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../support/databases.js';
import { api, startGateway, type TestGateway } from '../support/gateway.js';
import { recordSecret } from '../support/paths.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const ENDPOINT = '/esign/api/notify-endpoint';
const BEIJING_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/;

describe.each(await storeKinds())('self-service notify endpoint on %s', (kind) => {
  let db: TestDatabase;
  let gw: TestGateway;
  let receiver: WebhookReceiver;
  let stopJobs: () => Promise<void>;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    receiver = await startWebhookReceiver();
    gw = await startGateway({
      db,
      env: { NOTIFY_ALLOW_PRIVATE_NETWORKS: 'true', NOTIFY_RETRY_SCHEDULE: '0s,100ms' },
    });
    stopJobs = startJobs(gw.runtime);
  });
  afterAll(async () => {
    await stopJobs?.();
    await gw?.close();
    await receiver?.close();
    await db?.drop();
  });

  it('sets the URL (secret shown once), sends a signed test.ping through the outbox, reports its outcome', async () => {
    expect((await api(gw, 'GET', ENDPOINT)).body.data).toEqual({
      url: null,
      enabled: false,
      lastDelivery: null,
    });

    const refused = await api(gw, 'PUT', ENDPOINT, { url: 'ftp://issuer.example/hook' });
    expect(refused.status).toBe(400);
    expect(refused.body.data).toEqual({
      errors: [
        {
          field: 'url',
          code: 'NOTIFY_URL',
          message: '通知地址不可用：须为可解析到公网地址的 https URL，且不含用户名和密码',
        },
      ],
    });

    const set = await api(gw, 'PUT', ENDPOINT, { url: receiver.url });
    expect(set.status).toBe(200);
    const secret = set.body.data.webhookSecret as string;
    recordSecret(secret);
    expect(set.body.data).toEqual({
      url: receiver.url,
      enabled: true,
      webhookSecret: expect.stringMatching(/^whsec_/),
    });
    expect((await api(gw, 'PUT', ENDPOINT, { url: receiver.url })).body.data).toEqual({
      url: receiver.url,
      enabled: true,
    });

    const ping = await api(gw, 'POST', `${ENDPOINT}/test`);
    expect(ping.status).toBe(200);
    const deliveryId = ping.body.data.deliveryId as string;
    expect(deliveryId).toMatch(/^msg_[0-9A-Za-z]{24}$/);
    const [received] = await receiver.waitFor(1);
    expect(received?.headers['webhook-id']).toBe(deliveryId);
    expect(received?.verifiedWith(secret)).toEqual([true]);
    expect(received?.json()).toEqual({ type: 'test.ping', occurredAt: expect.stringMatching(BEIJING_ISO) });

    await expect
      .poll(async () => (await api(gw, 'GET', ENDPOINT)).body.data.lastDelivery?.status)
      .toBe('DELIVERED');
    expect((await api(gw, 'GET', ENDPOINT)).body.data).toEqual({
      url: receiver.url,
      enabled: true,
      lastDelivery: {
        deliveryId,
        type: 'test.ping',
        status: 'DELIVERED',
        attempts: 1,
        lastStatus: 200,
        lastAttemptAt: expect.stringMatching(BEIJING_ISO),
        deliveredAt: expect.stringMatching(BEIJING_ISO),
      },
    });
  });

  it('answers 409 to a test without a notify URL', async () => {
    const other = { url: gw.url, token: await gw.newClient(`nourl-${kind}`) };
    const r = await api(other, 'POST', `${ENDPOINT}/test`);
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ responseCode: '409', responseMsg: '尚未设置通知地址', data: null });
  });
});
