import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { KeyRing } from './keys.js';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Field encryption for personal data: AES-256-GCM with a fresh 12-byte nonce per value. Stored as
 * `<keyId>.<base64url(nonce | ciphertext | tag)>` so a key can be rotated without a rewrite.
 */
export class PiiCipher {
  private active: { id: string; key: Buffer };
  private readonly byId: Map<string, Buffer>;
  private blind: { id: string; key: Buffer };
  private readonly blindById: Map<string, Buffer>;
  private readonly derived = new Map<string, Buffer>();
  /**
   * Key file deployments: reads the key file again when a value names a key this process lacks
   * (another process on this host rotated and wrote the new key into the file).
   */
  reloadKeys: (() => KeyRing | null) | null = null;

  constructor(ring: KeyRing) {
    const first = ring.encryption[0];
    const firstBlind = ring.blindIndex[0];
    if (!first) throw new Error('key ring has no encryption key');
    if (!firstBlind) throw new Error('key ring has no blind-index key');
    this.active = first;
    this.blind = firstBlind;
    this.byId = new Map(ring.encryption.map((k) => [k.id, k.key]));
    this.blindById = new Map(ring.blindIndex.map((k) => [k.id, k.key]));
    // With two keys under one id, values encrypted by the active key would be decrypted with the other.
    if (this.byId.size !== ring.encryption.length || this.blindById.size !== ring.blindIndex.length)
      throw new Error('key ring has duplicate key ids');
  }

  encrypt(plain: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.active.key, nonce);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${this.active.id}.${Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url')}`;
  }

  /** Ids of the keys this process holds. */
  keyIds(): string[] {
    return [...this.byId.keys()];
  }

  hasKey(id: string): boolean {
    if (!this.byId.has(id)) this.reload();
    return this.byId.has(id);
  }

  /**
   * Makes `id` the key new values are encrypted with (all processes follow the database's choice,
   * see services/lifecycle/keys.ts). False when this process does not hold it.
   */
  setActive(id: string): boolean {
    if (!this.hasKey(id)) return false;
    this.active = { id, key: this.byId.get(id) as Buffer };
    return true;
  }

  private reload(): void {
    const ring = this.reloadKeys?.();
    // A key id never changes its key: a file that says otherwise is ignored here (keys.ts refuses it at start).
    for (const k of ring?.encryption ?? []) if (!this.byId.has(k.id)) this.byId.set(k.id, k.key);
    for (const k of ring?.blindIndex ?? []) if (!this.blindById.has(k.id)) this.blindById.set(k.id, k.key);
  }

  decrypt(stored: string): string {
    const dot = stored.indexOf('.');
    if (dot >= 1 && !this.byId.has(stored.slice(0, dot))) this.reload();
    const key = this.byId.get(stored.slice(0, dot));
    if (dot < 1 || !key) throw new Error('encrypted value uses an unknown key id');
    const raw = Buffer.from(stored.slice(dot + 1), 'base64url');
    // Too short to hold a whole nonce and a whole tag: without this check the "tag" would be cut
    // out of the nonce and GCM would accept a tag as short as 4 bytes.
    if (raw.length < NONCE_BYTES + TAG_BYTES) throw new Error('malformed encrypted value');
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, NONCE_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  }

  get activeKeyId(): string {
    return this.active.id;
  }

  /**
   * HMAC-SHA256 under a key derived (HKDF) from encryption key `keyId` for `purpose`, so the
   * audit chain needs no key of its own and no key stored in the database. Null when this process
   * does not hold that key.
   */
  keyedMac(purpose: string, data: string, keyId: string = this.active.id): string | null {
    const cacheKey = `${keyId}\u0000${purpose}`;
    let key = this.derived.get(cacheKey);
    if (!key) {
      if (!this.byId.has(keyId)) this.reload();
      const ikm = this.byId.get(keyId);
      if (!ikm) return null;
      key = Buffer.from(hkdfSync('sha256', ikm, 'etc-esign', purpose, 32));
      this.derived.set(cacheKey, key);
    }
    return createHmac('sha256', key).update(data).digest('base64url');
  }

  /**
   * Deterministic keyed digest for lookups (blind index) under the active blind-index key, or the
   * one named; `purpose` keeps digests of different fields apart.
   */
  blindIndex(purpose: string, value: string, keyId: string = this.blind.id): string {
    const key = this.blindById.get(keyId);
    if (!key) throw new Error(`blind-index key "${keyId}" is not held by this process`);
    return createHmac('sha256', key).update(`${purpose}\u0000${value}`).digest('hex');
  }

  /**
   * The digest under every blind-index key held, the active one first: during a rotation a row
   * may still carry the old key's digest, and a lookup must find it either way.
   */
  blindIndexes(purpose: string, value: string): string[] {
    return this.blindKeyIds().map((id) => this.blindIndex(purpose, value, id));
  }

  get blindKeyId(): string {
    return this.blind.id;
  }

  /** Ids of the blind-index keys this process holds, the active one first. */
  blindKeyIds(): string[] {
    return [this.blind.id, ...[...this.blindById.keys()].filter((id) => id !== this.blind.id)];
  }

  hasBlindKey(id: string): boolean {
    if (!this.blindById.has(id)) this.reload();
    return this.blindById.has(id);
  }

  /** Makes `id` the key new blind indexes are made with; false when this process does not hold it. */
  setActiveBlind(id: string): boolean {
    if (!this.hasBlindKey(id)) return false;
    this.blind = { id, key: this.blindById.get(id) as Buffer };
    return true;
  }
}
