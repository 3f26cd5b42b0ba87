/**
 * Removing, hashing and anonymising fields of a message. These functions change the message they are
 * given: callers pass a copy (`structuredClone`), never the event they received.
 */
import { createHmac } from 'node:crypto';
import type { JsonObject } from '../event/event.ts';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** HMAC-SHA256 of a text, hex. Keyed, so a hash cannot be reversed by hashing guesses without the secret. */
export function hmacHex(secret: string, text: string): string {
  // An empty secret would make every hash guessable: a configuration bug, not an input error.
  if (secret === '') throw new Error('hash secret must not be empty');
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

/** The object holding the last segment of `path`, and that segment; `undefined` when a parent is missing. */
function parentOf(message: JsonObject, path: string): { parent: JsonObject; key: string } | undefined {
  const segments = path.split('.');
  const key = segments.pop();
  let node: unknown = message;
  for (const s of segments) {
    if (!isObject(node) || !Object.hasOwn(node, s)) return undefined;
    node = node[s];
  }
  return isObject(node) && key !== undefined && Object.hasOwn(node, key) ? { parent: node, key } : undefined;
}

/** Delete the field at `path`; true when there was one. */
export function removeField(message: JsonObject, path: string): boolean {
  const found = parentOf(message, path);
  if (found === undefined) return false;
  delete found.parent[found.key];
  return true;
}

/**
 * Replace the field at `path` by its HMAC (hex); true when there was a value. Strings are hashed as
 * given, other values as their JSON text; null stays null (there is nothing personal in it).
 */
export function hashField(message: JsonObject, path: string, secret: string): boolean {
  const found = parentOf(message, path);
  if (found === undefined) return false;
  const value = found.parent[found.key];
  if (value === null || value === undefined) return false;
  found.parent[found.key] = hmacHex(secret, typeof value === 'string' ? value : JSON.stringify(value));
  return true;
}

/** Trait and property keys that name a person, removed on anonymisation (compared ignoring case and `_`). */
export const PII_KEYS = [
  'email',
  'phone',
  'name',
  'firstName',
  'lastName',
  'username',
  'address',
  'street',
  'postalCode',
  'zip',
  'birthday',
  'avatar',
  'ip',
  'userId',
  'anonymousId',
] as const;

/** Context fields that identify a person or a device, removed on anonymisation. */
export const PII_CONTEXT_PATHS = [
  'context.ip',
  'context.userAgent',
  'context.userAgentData',
  'context.device.id',
  'context.device.advertisingId',
  'context.device.token',
  'context.location.latitude',
  'context.location.longitude',
  'context.externalIds',
] as const;

/** Message fields that identify the person the event is about. */
const IDENTITY_FIELDS = ['userId', 'anonymousId', 'previousId'] as const;

const foldKey = (k: string) => k.replaceAll('_', '').toLowerCase();
const PII_FOLDED = new Set(PII_KEYS.map(foldKey));

/**
 * Strip identity and personal data from a message: the identity fields, the listed context fields,
 * and PII keys at the top level of `traits`, `context.traits` and `properties`. Returns the paths
 * removed. What remains is the event's shape, name, time and non-personal properties: enough for
 * aggregates, too little to single out a person.
 */
export function anonymiseMessage(message: JsonObject): string[] {
  const removed: string[] = [];
  for (const f of IDENTITY_FIELDS) if (removeField(message, f)) removed.push(f);
  for (const p of PII_CONTEXT_PATHS) if (removeField(message, p)) removed.push(p);
  const context = message['context'];
  const holders: [string, unknown][] = [
    ['traits', message['traits']],
    ['context.traits', isObject(context) ? context['traits'] : undefined],
    ['properties', message['properties']],
  ];
  for (const [prefix, holder] of holders) {
    if (!isObject(holder)) continue;
    for (const key of Object.keys(holder)) {
      if (!PII_FOLDED.has(foldKey(key))) continue;
      delete holder[key];
      removed.push(`${prefix}.${key}`);
    }
  }
  return removed;
}
