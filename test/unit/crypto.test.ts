import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addBlindKeyToFile, removeBlindKeyFromFile } from '../../src/crypto/key-file-rotation.js';
import {
  createKeyFile,
  KEY_FILE_NAME,
  KeyError,
  type KeyRing,
  keyCheckValue,
  readKeyRing,
} from '../../src/crypto/keys.js';
import { PiiCipher } from '../../src/crypto/pii.js';
import { randomBase62 } from '../../src/crypto/random.js';
import { tempDir } from '../support/paths.js';

const key = (fill?: number) => (fill === undefined ? randomBytes(32) : Buffer.alloc(32, fill));
const ring = (ids: string[], blind = key(7)): KeyRing => ({
  encryption: ids.map((id, i) => ({ id, key: key(i + 1) })),
  blindIndex: [{ id: 'default', key: blind }],
});

/** `<keyId>.<base64url(nonce | ciphertext | tag)>` split into its parts. */
const parts = (stored: string) => {
  const dot = stored.indexOf('.');
  return { id: stored.slice(0, dot), raw: Buffer.from(stored.slice(dot + 1), 'base64url') };
};

describe('PiiCipher', () => {
  const cipher = new PiiCipher(ring(['k1']));

  it('round-trips ASCII, BMP Han, 4-byte (astral) Han, the middle dot and the empty string', () => {
    for (const plain of ['11010519491231002X', '张三', '𠀀𪚥𡃁', '阿卜杜·热合曼', '', 'a'.repeat(1000)]) {
      const stored = cipher.encrypt(plain);
      expect(stored.startsWith('k1.')).toBe(true);
      expect(stored).not.toContain(plain || '\u0000');
      expect(cipher.decrypt(stored)).toBe(plain);
    }
    const astral = '𠀀𪚥';
    // 12-byte nonce + 8 UTF-8 bytes + 16-byte tag.
    expect(parts(cipher.encrypt(astral)).raw.length).toBe(12 + Buffer.byteLength(astral) + 16);
    expect(Buffer.byteLength(astral)).toBe(8);
  });

  it('uses a fresh nonce every time: the same plaintext never encrypts to the same value', () => {
    const seen = new Set<string>();
    const nonces = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const stored = cipher.encrypt('张三');
      seen.add(stored);
      nonces.add(parts(stored).raw.subarray(0, 12).toString('hex'));
    }
    expect(seen.size).toBe(200);
    expect(nonces.size).toBe(200);
  });

  it('throws when any single byte of nonce, ciphertext or tag is changed', () => {
    const stored = cipher.encrypt('李四𠀀');
    const { id, raw } = parts(stored);
    expect(raw.length).toBe(12 + 10 + 16);
    for (let i = 0; i < raw.length; i++) {
      for (const flip of [0x01, 0x80]) {
        const bad = Buffer.from(raw);
        bad[i] = (bad[i] ?? 0) ^ flip;
        expect(() => cipher.decrypt(`${id}.${bad.toString('base64url')}`), `byte ${i}`).toThrow();
      }
    }
    // Truncated, extended and emptied values.
    for (const bad of [
      raw.subarray(0, raw.length - 1),
      Buffer.concat([raw, Buffer.of(0)]),
      raw.subarray(0, 28),
    ]) {
      expect(() => cipher.decrypt(`${id}.${bad.toString('base64url')}`)).toThrow();
    }
    expect(() => cipher.decrypt(`${id}.`)).toThrow();
    expect(cipher.decrypt(stored)).toBe('李四𠀀');
  });

  it('refuses values whose nonce and tag would overlap (no short or overlapping tags)', () => {
    // 12..27 raw bytes cannot hold a 12-byte nonce and a 16-byte tag; none may reach GCM.
    for (let n = 0; n < 28; n++) {
      const raw = randomBytes(n);
      expect(() => cipher.decrypt(`k1.${raw.toString('base64url')}`)).toThrow(
        /malformed encrypted value|unknown key id/,
      );
    }
  });

  it('throws for an unknown key id or a value without a key id', () => {
    const stored = cipher.encrypt('张三');
    const body = stored.slice(stored.indexOf('.') + 1);
    expect(() => cipher.decrypt(`k9.${body}`)).toThrow('encrypted value uses an unknown key id');
    expect(() => cipher.decrypt(`.${body}`)).toThrow('encrypted value uses an unknown key id');
    expect(() => cipher.decrypt(body)).toThrow('encrypted value uses an unknown key id');
    expect(() => cipher.decrypt('k1x')).toThrow('encrypted value uses an unknown key id');
    // Another ring with the same id but another key: authentication fails.
    const stranger = new PiiCipher({
      encryption: [{ id: 'k1', key: key(99) }],
      blindIndex: [{ id: 'default', key: key(7) }],
    });
    expect(() => stranger.decrypt(stored)).toThrow();
  });

  it('decrypts old values after rotation (new active key, old key kept) and encrypts with the new key', () => {
    const old = new PiiCipher(ring(['k1']));
    const before = old.encrypt('王小明');
    const rotated = new PiiCipher({
      encryption: [
        { id: 'k2', key: key(42) },
        { id: 'k1', key: key(1) },
      ],
      blindIndex: [{ id: 'default', key: key(7) }],
    });
    expect(rotated.decrypt(before)).toBe('王小明');
    const after = rotated.encrypt('王小明');
    expect(after.startsWith('k2.')).toBe(true);
    expect(rotated.decrypt(after)).toBe('王小明');
    expect(() => old.decrypt(after)).toThrow('encrypted value uses an unknown key id');
    // Blind indexes do not depend on the encryption keys, so lookups survive rotation.
    expect(rotated.blindIndex('id', '11010519491231002X')).toBe(old.blindIndex('id', '11010519491231002X'));
  });

  it('refuses an empty key ring and a ring with two keys under one id', () => {
    expect(() => new PiiCipher({ encryption: [], blindIndex: [{ id: 'default', key: key(7) }] })).toThrow(
      'key ring has no encryption key',
    );
    // ENCRYPTION_KEYS="k1:A,k1:B" would otherwise encrypt with A and decrypt with B: unreadable data.
    const twice = {
      encryption: [
        { id: 'k1', key: key(1) },
        { id: 'k1', key: key(2) },
      ],
      blindIndex: [{ id: 'default', key: key(7) }],
    };
    expect(() => new PiiCipher(twice)).toThrow('key ring has duplicate key ids');
  });

  it('blind index: deterministic, 64 hex chars, keyed, and separated by purpose', () => {
    const a = new PiiCipher(ring(['k1'], key(7)));
    const b = new PiiCipher(ring(['k9'], key(7)));
    const c = new PiiCipher(ring(['k1'], key(8)));
    const v = '11010519491231002X';
    expect(a.blindIndex('id', v)).toMatch(/^[0-9a-f]{64}$/);
    expect(a.blindIndex('id', v)).toBe(a.blindIndex('id', v));
    expect(b.blindIndex('id', v)).toBe(a.blindIndex('id', v));
    expect(c.blindIndex('id', v)).not.toBe(a.blindIndex('id', v));
    expect(a.blindIndex('name', v)).not.toBe(a.blindIndex('id', v));
    expect(a.blindIndex('id', `${v} `)).not.toBe(a.blindIndex('id', v));
    // Not a plain hash of the value.
    expect(a.blindIndex('id', v)).not.toContain(v);
    expect(a.blindIndex('id', v)).toBe(createHmac('sha256', key(7)).update(`id\u0000${v}`).digest('hex'));
  });
});

describe('blind-index keys', () => {
  const v = '11010519491231002X';
  const digest = (k: Buffer, purpose = 'id') =>
    createHmac('sha256', k).update(`${purpose}\u0000${v}`).digest('hex');

  it('makes new digests with the active key and looks up under every key held, the active one first', () => {
    const c = new PiiCipher({
      encryption: [{ id: 'k1', key: key(1) }],
      blindIndex: [
        { id: 'default', key: key(7) },
        { id: 'b1', key: key(8) },
      ],
    });
    expect(c.blindKeyId).toBe('default');
    expect(c.blindIndex('id', v)).toBe(digest(key(7)));
    expect(c.blindIndexes('id', v)).toEqual([digest(key(7)), digest(key(8))]);
    expect(c.setActiveBlind('b1')).toBe(true);
    expect(c.blindIndex('id', v)).toBe(digest(key(8)));
    expect(c.blindIndex('id', v, 'default')).toBe(digest(key(7)));
    expect(c.blindIndexes('id', v)).toEqual([digest(key(8)), digest(key(7))]);
    expect(c.setActiveBlind('b9')).toBe(false);
    expect(() => c.blindIndex('id', v, 'b9')).toThrow('blind-index key "b9" is not held by this process');
  });

  it('a key file of the older shape gets its blind key under id "default" and is converted on rotation', () => {
    const dataDir = tempDir('keys');
    const first = createKeyFile(dataDir);
    addBlindKeyToFile(dataDir, 'b1');
    const file = JSON.parse(fs.readFileSync(path.join(dataDir, KEY_FILE_NAME), 'utf8'));
    expect(Object.keys(file).sort()).toEqual([
      'activeBlindIndexKeyId',
      'activeKeyId',
      'blindIndexKeys',
      'encryptionKeys',
    ]);
    expect(file.activeBlindIndexKeyId).toBe('b1');
    const after = readKeyRing({ dataDir, keys: null });
    expect(after?.blindIndex.map((k) => k.id)).toEqual(['b1', 'default']);
    expect(after?.blindIndex[1]?.key.equals(first.blindIndex[0]?.key as Buffer)).toBe(true);
    removeBlindKeyFromFile(dataDir, 'default');
    expect(readKeyRing({ dataDir, keys: null })?.blindIndex.map((k) => k.id)).toEqual(['b1']);
    expect(() => removeBlindKeyFromFile(dataDir, 'b1')).toThrow('active blind-index key');
  });
});

describe('key files', () => {
  const writeKeys = (dataDir: string, content: unknown) =>
    fs.writeFileSync(
      path.join(dataDir, KEY_FILE_NAME),
      typeof content === 'string' ? content : JSON.stringify(content),
      { mode: 0o600 },
    );

  it('creates DATA_DIR/keys.json with mode 0600 and reads the same keys back', () => {
    const dataDir = path.join(tempDir('keys'), 'nested', 'data');
    expect(readKeyRing({ dataDir, keys: null })).toBeNull();
    const first = createKeyFile(dataDir);
    const file = path.join(dataDir, KEY_FILE_NAME);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(dataDir).mode & 0o777).toBe(0o700);
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(Object.keys(json).sort()).toEqual(['activeKeyId', 'blindIndexKey', 'encryptionKeys']);
    expect(json.activeKeyId).toBe('k1');
    expect(first.encryption.map((k) => k.id)).toEqual(['k1']);
    expect(first.encryption[0]?.key.length).toBe(32);
    expect(first.blindIndex.map((k) => [k.id, k.key.length])).toEqual([['default', 32]]);

    const mtime = fs.statSync(file).mtimeMs;
    const second = readKeyRing({ dataDir, keys: null });
    expect(second?.encryption[0]?.key.equals(first.encryption[0]?.key ?? Buffer.alloc(0))).toBe(true);
    expect(second?.blindIndex[0]?.key.equals(first.blindIndex[0]?.key as Buffer)).toBe(true);
    expect(fs.statSync(file).mtimeMs).toBe(mtime);
    // A second create (another process racing) keeps the first file.
    expect(createKeyFile(dataDir).blindIndex[0]?.key.equals(first.blindIndex[0]?.key as Buffer)).toBe(true);
    expect(new PiiCipher(second as KeyRing).decrypt(new PiiCipher(first).encrypt('赵六'))).toBe('赵六');
    expect(createKeyFile(tempDir('keys')).blindIndex[0]?.key.equals(first.blindIndex[0]?.key as Buffer)).toBe(
      false,
    );
  });

  it('puts the active key first and keeps the others for decryption', () => {
    const dataDir = tempDir('keys');
    writeKeys(dataDir, {
      activeKeyId: 'k2',
      encryptionKeys: { k1: key(1).toString('base64'), k2: key(2).toString('base64') },
      blindIndexKey: key(3).toString('base64'),
    });
    const r = readKeyRing({ dataDir, keys: null });
    expect(r?.encryption.map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(r?.encryption[0]?.key.equals(key(2))).toBe(true);
    expect(r?.blindIndex).toEqual([{ id: 'default', key: key(3) }]);
  });

  const good = {
    activeKeyId: 'k1',
    encryptionKeys: { k1: key(1).toString('base64') },
    blindIndexKey: key(3).toString('base64'),
  };
  it.each([
    ['not JSON', '{"activeKeyId": "k1", ', 'is not valid JSON: restore it from your backup'],
    ['an empty file', '', 'is not valid JSON'],
    ['a JSON array', '[]', 'must hold activeKeyId, encryptionKeys {id: base64 key} and blindIndexKey'],
    ['a missing active key', { ...good, activeKeyId: 'k5' }, 'activeKeyId k5 has no key'],
    [
      'a 16-byte key',
      { ...good, encryptionKeys: { k1: Buffer.alloc(16, 1).toString('base64') } },
      'encryption key "k1" has 16 bytes, needs 32',
    ],
    ['an empty blind-index key', { ...good, blindIndexKey: '' }, 'the blind-index key has 0 bytes, needs 32'],
    [
      'a bad key id',
      { ...good, activeKeyId: 'a b', encryptionKeys: { 'a b': key(1).toString('base64') } },
      'key id "a b" must be',
    ],
  ])('refuses a key file with %s, in one line', (_what, content, message) => {
    const dataDir = tempDir('keys');
    writeKeys(dataDir, content);
    let thrown: unknown;
    try {
      readKeyRing({ dataDir, keys: null });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(KeyError);
    expect((thrown as Error).message).toContain(message);
    expect((thrown as Error).message).not.toContain('\n');
  });

  it('uses keys from the environment when given and never touches the key file', () => {
    const dataDir = path.join(tempDir('keys'), 'unused');
    const envKeys: KeyRing = {
      encryption: [{ id: 'prod1', key: key(9) }],
      blindIndex: [{ id: 'default', key: key(10) }],
    };
    expect(readKeyRing({ dataDir, keys: envKeys })).toBe(envKeys);
    expect(fs.existsSync(dataDir)).toBe(false);
    const withFile = tempDir('keys');
    createKeyFile(withFile);
    expect(readKeyRing({ dataDir: withFile, keys: envKeys })).toBe(envKeys);
  });

  it('gives each key a check value that tells it apart without revealing it', () => {
    expect(keyCheckValue(key(1))).toBe(keyCheckValue(Buffer.from(key(1))));
    expect(keyCheckValue(key(1))).not.toBe(keyCheckValue(key(2)));
    expect(keyCheckValue(key(1))).toMatch(/^[0-9a-f]{64}$/);
    expect(keyCheckValue(key(1))).not.toContain(key(1).toString('hex'));
  });
});

describe('randomBase62', () => {
  const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

  it('returns exactly the requested length from the base62 alphabet', () => {
    for (const n of [0, 1, 10, 12, 32, 100, 1000]) {
      const s = randomBase62(n);
      expect(s.length).toBe(n);
      expect(s).toMatch(/^[0-9A-Za-z]*$/);
    }
    expect(new Set(Array.from({ length: 100 }, () => randomBase62(32))).size).toBe(100);
  });

  it('uses every character of the alphabet with roughly equal frequency', () => {
    const counts = new Map<string, number>();
    const sample = randomBase62(100_000);
    for (const c of sample) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect([...counts.keys()].sort().join('')).toBe([...ALPHABET].sort().join(''));
    // Expected 1613 per character, sd ≈ 40: ±7.8 sd cannot flake (p < 1e-12 over the whole run).
    for (const [c, n] of counts) {
      expect(n, `count of ${c}`).toBeGreaterThan(1300);
      expect(n, `count of ${c}`).toBeLessThan(1925);
    }
    // A modulo bias (bytes 248–255 folded onto '0'–'7') would put those eight near 15 600 together;
    // unbiased they sum to about 12 900 (sd ≈ 106).
    const firstEight = [...'01234567'].reduce((sum, c) => sum + (counts.get(c) ?? 0), 0);
    expect(firstEight).toBeGreaterThan(11_800);
    expect(firstEight).toBeLessThan(14_000);
  });
});
