/**
 * Which values of an event identify a person, in their standard form.
 *
 * Pure: no graph state is consulted except through the optional `isKnownUserId` callback used to type an
 * alias's `previousId`. Invalid e-mails and phones come back as warnings and are never matched.
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import type { JsonObject, TrackedEvent } from '../event/event.ts';
import type { IdentityWarning } from './warnings.ts';

/** A person identifier. `type` is a built-in type or a custom one (`[a-z0-9_.-]+`); `value` is standardised. */
export interface Identifier {
  readonly type: string;
  readonly value: string;
}

export const BUILTIN_IDENTIFIER_TYPES = ['user_id', 'email', 'phone', 'device_id', 'advertising_id', 'push_token', 'anonymous_id'] as const;
export type BuiltinIdentifierType = (typeof BUILTIN_IDENTIFIER_TYPES)[number];

/**
 * Default priority per type (lower = stronger). Also the rule-independent rank of the canonical order,
 * so profile ids do not change when an operator edits priorities. Custom types rank 4: stronger than
 * device-level ids, weaker than the contact points.
 */
export const DEFAULT_PRIORITY: Readonly<Record<BuiltinIdentifierType, number>> = {
  user_id: 1,
  email: 2,
  phone: 3,
  device_id: 5,
  advertising_id: 6,
  push_token: 7,
  anonymous_id: 8,
};
export const CUSTOM_TYPE_PRIORITY = 4;

const MAX_VALUE_LENGTH = 1000;
const TYPE_PATTERN = /^[a-z0-9_.-]+$/;
// Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is not identity's job.
const EMAIL_PATTERN = /^[^\s@]+@[^\s@.][^\s@]*\.[^\s@]+$/;

export function isBuiltinType(type: string): type is BuiltinIdentifierType {
  return Object.hasOwn(DEFAULT_PRIORITY, type);
}

export function canonicalRank(type: string): number {
  return isBuiltinType(type) ? DEFAULT_PRIORITY[type] : CUSTOM_TYPE_PRIORITY;
}

/** `type:value`; types cannot contain `:`, so the first colon splits it back. */
export function identifierKey(id: Identifier): string {
  return `${id.type}:${id.value}`;
}

export function parseIdentifierKey(key: string): Identifier | null {
  const i = key.indexOf(':');
  if (i <= 0) return null;
  return { type: key.slice(0, i), value: key.slice(i + 1) };
}

/** The canonical order: rank, then type, then value (code units, locale-independent). */
export function compareIdentifiers(a: Identifier, b: Identifier): number {
  const r = canonicalRank(a.type) - canonicalRank(b.type);
  if (r !== 0) return r;
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/** A custom type name as stored: lower-cased, anything outside `[a-z0-9_.-]` replaced by `_`. */
export function normaliseType(raw: string): string {
  return raw
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '_');
}

/** `warning: null` means the value was simply absent (nothing to report). */
export type Standardised = { ok: true; identifier: Identifier } | { ok: false; warning: IdentityWarning | null };

const ABSENT: Standardised = { ok: false, warning: null };

export function standardiseEmail(raw: unknown): Standardised {
  if (raw === undefined || raw === null) return ABSENT;
  if (typeof raw !== 'string') return { ok: false, warning: { code: 'invalid_email', detail: `email is a ${typeof raw}, not a string` } };
  const value = raw.trim().toLowerCase();
  if (value === '') return ABSENT;
  if (value.length > 254 || !EMAIL_PATTERN.test(value))
    return { ok: false, warning: { code: 'invalid_email', detail: 'email is not a valid address' } };
  return { ok: true, identifier: { type: 'email', value } };
}

/** E.164 via libphonenumber-js; numbers without a country code are read in `defaultRegion`. */
export function standardisePhone(raw: unknown, defaultRegion: CountryCode): Standardised {
  if (raw === undefined || raw === null) return ABSENT;
  if (typeof raw !== 'string' && !(typeof raw === 'number' && Number.isFinite(raw))) {
    return { ok: false, warning: { code: 'invalid_phone', detail: `phone is a ${typeof raw}, not a string` } };
  }
  const text = String(raw).trim();
  if (text === '') return ABSENT;
  // Longer inputs are never phone numbers; the cap keeps a hostile value from costing parse time.
  const parsed = text.length <= 64 ? parsePhoneNumberFromString(text, defaultRegion) : undefined;
  if (parsed === undefined || !parsed.isValid())
    return { ok: false, warning: { code: 'invalid_phone', detail: `phone is not a valid number (default region ${defaultRegion})` } };
  return { ok: true, identifier: { type: 'phone', value: parsed.number } };
}

/** Plain ids (user, anonymous, device, custom): non-empty strings or finite numbers, kept exactly. */
export function standardisePlain(type: string, raw: unknown): Standardised {
  if (raw === undefined || raw === null || raw === '') return ABSENT;
  let value: string;
  if (typeof raw === 'string') value = raw;
  else if (typeof raw === 'number' && Number.isFinite(raw)) value = String(raw);
  else return { ok: false, warning: { code: 'invalid_identifier', detail: `${type} is a ${Array.isArray(raw) ? 'array' : typeof raw}` } };
  if (value.length > MAX_VALUE_LENGTH)
    return { ok: false, warning: { code: 'invalid_identifier', detail: `${type} is longer than ${MAX_VALUE_LENGTH} characters` } };
  return { ok: true, identifier: { type, value } };
}

/** Standardise a value of any type; e-mail and phone get their special forms. */
export function standardise(type: string, raw: unknown, defaultRegion: CountryCode = 'US'): Standardised {
  if (type === 'email') return standardiseEmail(raw);
  if (type === 'phone') return standardisePhone(raw, defaultRegion);
  return standardisePlain(type, raw);
}

export interface ExtractOptions {
  /** Region for phone numbers written without a country code. Default `US`. */
  defaultRegion?: CountryCode;
  /**
   * Types an alias's `previousId`: `user_id` when this returns true for it, otherwise `anonymous_id`.
   * Pass `(v) => graph.isKnown({ type: 'user_id', value: v })`. Without it every previousId is anonymous.
   */
  isKnownUserId?: (value: string) => boolean;
}

export interface ExtractedIdentifiers {
  /** Standardised, de-duplicated, in extraction order (which breaks priority ties when dropping). */
  identifiers: Identifier[];
  /** The account the event is about (`groupId`, else `context.groupId`): not a person identifier. */
  groupId: string | null;
  warnings: IdentityWarning[];
}

function objectAt(obj: JsonObject | undefined, key: string): JsonObject | undefined {
  const v = obj?.[key];
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonObject) : undefined;
}

/**
 * Extract the person identifiers of one event.
 *
 * Order: userId, anonymousId, previousId, traits.email, context.traits.email, traits.phone,
 * context.traits.phone, device id, advertising id, push token, external ids. `traits` counts only when
 * the event is not a `group` call (a group's traits describe the account, not the person).
 * Alias: `previousId` is linked with `userId`; it is typed `user_id` when `isKnownUserId` says so, else
 * `anonymous_id` (the common case: an anonymous visitor gets a user id).
 */
export function extractIdentifiers(event: TrackedEvent, options: ExtractOptions = {}): ExtractedIdentifiers {
  const region = options.defaultRegion ?? 'US';
  const msg = event.message;
  const identifiers: Identifier[] = [];
  const warnings: IdentityWarning[] = [];
  const seen = new Set<string>();
  const add = (result: Standardised): void => {
    if (result.ok) {
      const key = identifierKey(result.identifier);
      if (!seen.has(key)) {
        seen.add(key);
        identifiers.push(result.identifier);
      }
    } else if (result.warning !== null) warnings.push(result.warning);
  };

  add(standardisePlain('user_id', event.userId));
  add(standardisePlain('anonymous_id', event.anonymousId));
  if (event.type === 'alias') {
    const previous = msg.previousId;
    const asText = typeof previous === 'number' ? String(previous) : previous;
    const known = typeof asText === 'string' && options.isKnownUserId?.(asText) === true;
    add(standardisePlain(known ? 'user_id' : 'anonymous_id', previous));
  }
  const context = objectAt(msg, 'context');
  const traits = event.type === 'group' ? undefined : objectAt(msg, 'traits');
  const contextTraits = objectAt(context, 'traits');
  add(standardiseEmail(traits?.email));
  add(standardiseEmail(contextTraits?.email));
  add(standardisePhone(traits?.phone, region));
  add(standardisePhone(contextTraits?.phone, region));

  const device = objectAt(context, 'device');
  if (device !== undefined) {
    add(standardisePlain('device_id', device.id));
    if (device.adTrackingEnabled !== false) add(standardisePlain('advertising_id', device.advertisingId));
    add(standardisePlain('push_token', device.token));
  }

  const external = context?.externalIds;
  if (Array.isArray(external)) {
    for (const entry of external) {
      const type =
        typeof entry === 'object' && entry !== null && typeof (entry as JsonObject).type === 'string'
          ? normaliseType((entry as JsonObject).type as string)
          : '';
      if (type === '' || !TYPE_PATTERN.test(type)) {
        warnings.push({ code: 'invalid_external_id', detail: 'externalIds entry without a usable type' });
        continue;
      }
      const result = standardise(type, (entry as JsonObject).id, region);
      if (!result.ok && result.warning === null)
        warnings.push({ code: 'invalid_external_id', detail: `externalIds entry of type ${type} without an id` });
      else add(result);
    }
  }

  const groupId = standardisePlain('group_id', msg.groupId ?? context?.groupId);
  return { identifiers, groupId: groupId.ok ? groupId.identifier.value : null, warnings };
}
