/**
 * Signed e-mail unsubscribe links. The token carries the address encrypted and authenticated
 * (AES-256-GCM under a key derived from the installation secret): a link cannot be forged or pointed
 * at another address, and the address does not appear in URLs that proxies and mail scanners log.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const IV = 12;
const TAG = 16;
/** Links keep working for a year (the law asks for at least 30 days after sending). */
export const LINK_VALIDITY_MS = 365 * 86_400_000;

export function signUnsubscribeToken(key: Buffer, email: string, now: number): string {
  const iv = randomBytes(IV);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(JSON.stringify({ e: email, x: now + LINK_VALIDITY_MS }), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** The address of a valid, unexpired token; null for anything else. */
export function readUnsubscribeToken(key: Buffer, token: string, now: number): string | null {
  if (token.length > 2048) return null;
  const raw = Buffer.from(token, 'base64url');
  if (raw.length <= IV + TAG) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV));
    decipher.setAuthTag(raw.subarray(raw.length - TAG));
    const text = Buffer.concat([decipher.update(raw.subarray(IV, raw.length - TAG)), decipher.final()]).toString('utf8');
    const parsed = JSON.parse(text) as { e?: unknown; x?: unknown };
    if (typeof parsed.e !== 'string' || typeof parsed.x !== 'number' || parsed.x <= now) return null;
    return parsed.e;
  } catch {
    return null;
  }
}
