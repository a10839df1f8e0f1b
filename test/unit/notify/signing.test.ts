import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { generateWebhookSecret, signWebhook } from '../../../src/notify/signing.js';
import { withJitter } from '../../../src/services/notifications/outbox.js';
import { Wakeup } from '../../../src/services/wakeup.js';
import { recordSecret } from '../../support/paths.js';

describe('webhook signing', () => {
  it('generates whsec_ secrets of 32 random bytes', () => {
    const a = generateWebhookSecret();
    const b = generateWebhookSecret();
    recordSecret(a);
    recordSecret(b);
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(32);
    expect(a).not.toBe(b);
  });

  it('puts one signature per secret in the header, each verifiable on its own', () => {
    const [s1, s2] = [generateWebhookSecret(), generateWebhookSecret()];
    recordSecret(s1);
    recordSecret(s2);
    const body = '{"type":"face_auth.success","flowId":"f1"}';
    const ts = Math.floor(Date.now() / 1000);
    const header = signWebhook([s1, s2], 'msg_1', ts, body);
    expect(header.split(' ')).toHaveLength(2);
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts), 'webhook-signature': header };
    expect(new Webhook(s1).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(s2).verify(body, headers)).toEqual(JSON.parse(body));
    const other = generateWebhookSecret();
    recordSecret(other);
    expect(() => new Webhook(other).verify(body, headers)).toThrow('No matching signature found');
    expect(() => new Webhook(s1).verify(`${body} `, headers)).toThrow();
  });
});

describe('withJitter', () => {
  it('stays within ±20% of the delay and keeps 0 at 0', () => {
    expect(withJitter(0)).toBe(0);
    expect(withJitter(1000, () => 0)).toBe(800);
    expect(withJitter(1000, () => 0.999999)).toBe(1200);
    for (let i = 0; i < 100; i++) {
      const ms = withJitter(5000);
      expect(ms).toBeGreaterThanOrEqual(4000);
      expect(ms).toBeLessThanOrEqual(6000);
    }
  });
});

describe('Wakeup', () => {
  it('wakes a waiter early, remembers a notify that came while nobody waited, and honours abort', async () => {
    const w = new Wakeup();
    let t = Date.now();
    const waiting = w.wait(5000);
    w.notify();
    await waiting;
    expect(Date.now() - t).toBeLessThan(1000);

    w.notify();
    t = Date.now();
    await w.wait(5000);
    expect(Date.now() - t).toBeLessThan(1000);

    t = Date.now();
    await w.wait(50);
    expect(Date.now() - t).toBeGreaterThanOrEqual(45);

    const ac = new AbortController();
    const aborted = w.wait(5000, ac.signal);
    ac.abort();
    await aborted;
  });
});
