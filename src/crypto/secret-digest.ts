import { hash } from 'node:crypto';

/**
 * How bearer secrets we hand out (client tokens, console session cookies) are stored: only their
 * SHA-256, so a copy of the database lets nobody in. They carry 190 bits or more of CSPRNG output,
 * so a plain hash needs no salt or stretching.
 */
export function secretDigest(secret: string): string {
  return hash('sha256', secret, 'hex');
}
