import { randomBytes } from 'node:crypto';
import { type FakeEsign, startFakeEsign } from '../../src/fake-esign/server.js';
import { recordSecret } from './paths.js';

export const ESIGN_APP_ID = '7438000001';

/** A fake e签宝 on loopback and the env that points a gateway at it. */
export async function startFake(latencyMs = 0): Promise<{ fake: FakeEsign; env: Record<string, string> }> {
  const secret = randomBytes(16).toString('hex');
  recordSecret(secret);
  const fake = await startFakeEsign({ appId: ESIGN_APP_ID, appSecret: secret, latencyMs });
  return {
    fake,
    env: {
      PROVIDER: 'esign',
      ESIGN_BASE_URL: fake.baseUrl,
      ESIGN_APP_ID: ESIGN_APP_ID,
      ESIGN_APP_SECRET: secret,
    },
  };
}

/** Keys passed by environment, so several gateway processes share encryption and blind index. */
export function sharedKeysEnv(): Record<string, string> {
  return {
    ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    BLIND_INDEX_KEY: randomBytes(32).toString('base64'),
  };
}
