/**
 * Deterministic profile ids: a UUIDv5 (RFC 9562, SHA-1) of the first identifier in canonical order, so two
 * processors that see the same first event mint the same id and converge instead of racing.
 * `node:crypto` is used for hashing only: pure computation, no I/O, so the core stays pure.
 */
import { hash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { identifierKey, type Identifier } from './identifiers.ts';

/** Tessera's namespace for profile ids (a fixed random UUID; changing it changes every id). */
export const PROFILE_ID_NAMESPACE = '5b0c1f5e-3c7e-4a61-9d2a-6f1e8c4b7a90';

const namespaceBytes = Buffer.from(PROFILE_ID_NAMESPACE.replaceAll('-', ''), 'hex');

export function uuidv5(name: string, namespace: Buffer = namespaceBytes): string {
  // One-shot `hash` (Node >= 20.12) costs a fraction of createHash().update().digest() per profile.
  const digest = hash('sha1', Buffer.concat([namespace, Buffer.from(name, 'utf8')]), 'buffer');
  digest[6] = ((digest[6] ?? 0) & 0x0f) | 0x50; // version 5
  digest[8] = ((digest[8] ?? 0) & 0x3f) | 0x80; // RFC variant
  const hex = digest.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The id of a profile first created from `first`; `attempt` > 0 only after a (theoretical) collision. */
export function profileIdFor(first: Identifier, attempt = 0): string {
  const name = identifierKey(first);
  return uuidv5(attempt === 0 ? name : `${name}#${attempt}`);
}
