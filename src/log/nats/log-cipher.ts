/**
 * How an entry's body is sealed in a NATS message: AES-256-GCM under the edge's current key, a fresh
 * 12-byte nonce per message. Layout: nonce (12) | ciphertext | tag (16). The tag makes a damaged or
 * foreign payload fail to open instead of yielding garbage.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const ALGORITHM = 'aes-256-gcm';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Bytes sealing adds to a body. */
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;

export function newSecret(): Buffer {
  return randomBytes(32);
}

export function sealBody(body: string, secret: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(ALGORITHM, secret, nonce);
  return Buffer.concat([nonce, cipher.update(body, 'utf8'), cipher.final(), cipher.getAuthTag()]);
}

/** The body, or null when the payload does not open with this secret (altered, truncated, another key). */
export function openBody(sealed: Uint8Array, secret: Buffer): string | null {
  if (sealed.length < SEAL_OVERHEAD) return null;
  const data = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  try {
    const decipher = createDecipheriv(ALGORITHM, secret, data.subarray(0, NONCE_BYTES));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    // Decoded as it goes (a character split across the two parts is carried over by the decoder).
    return decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES), undefined, 'utf8') + decipher.final('utf8');
  } catch {
    return null;
  }
}
