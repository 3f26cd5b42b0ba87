/**
 * Consent choices carried by events, in Segment's convention.
 *
 * Read from `context.consent.categoryPreferences` (`{ "Advertising": false, "Analytics": true }`) on
 * every event type. The track event `Segment Consent Preference Updated` carries the same object in
 * the same place; its changes are explicit (always recorded), while those on other events are
 * `observed` (recorded only when they say something new, see state.ts).
 *
 * Proof: source `event`, the event's source and messageId, `at` = event time, `context.ip`,
 * `context.userAgent`, and the consent text version from `context.consent.version` (a string or a
 * number; Segment defines no field for it, so this is Tessera's convention for SDK callers to set).
 *
 * Decisions made here:
 * - an empty or missing object changes nothing;
 * - two categories reaching the same purpose with different values: the refusal wins;
 * - unknown category names and non-boolean values are reported, never silently dropped;
 * - categories the event does not mention leave their purposes unchanged, unless the config says
 *   `missingCategories: 'denied'` (Segment's destination filtering treats a missing category as
 *   false; recording that as a refusal would let a banner that lacks a category wipe a choice made
 *   elsewhere, so it is opt-in).
 */
import type { JsonObject, TrackedEvent } from '../event/event.ts';
import { aliasedPurposes, findPurpose, purposesOfCategory, type ConsentConfig } from './purposes.ts';
import type { ConsentChange, ConsentChoice, ConsentProof } from './state.ts';

export const CONSENT_UPDATED_EVENT = 'Segment Consent Preference Updated';
const DAY_MS = 86_400_000;

export interface ExtractedConsent {
  /** One change per purpose the event speaks about. */
  readonly changes: readonly ConsentChange[];
  /** Category names no alias or purpose matches. */
  readonly unknownCategories: readonly string[];
  /** Categories whose value is not a boolean. */
  readonly invalidCategories: readonly string[];
}

/** What an event without consent choices carries (most events): one shared, frozen value. */
const NOTHING_CARRIED: ExtractedConsent = Object.freeze({
  changes: Object.freeze([]),
  unknownCategories: Object.freeze([]),
  invalidCategories: Object.freeze([]),
});

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The raw `categoryPreferences` object of an event, or `undefined`. */
export function categoryPreferencesOf(event: TrackedEvent): JsonObject | undefined {
  const context = event.message['context'];
  if (!isObject(context)) return undefined;
  const consent = context['consent'];
  if (!isObject(consent)) return undefined;
  const prefs = consent['categoryPreferences'];
  return isObject(prefs) ? prefs : undefined;
}

/** The proof an event gives for the choices it carries. */
export function proofOfEvent(event: TrackedEvent): ConsentProof {
  const context = isObject(event.message['context']) ? event.message['context'] : {};
  const consent = isObject(context['consent']) ? context['consent'] : {};
  const version = consent['version'];
  return {
    source: 'event',
    sourceId: event.sourceId,
    eventMessageId: event.messageId,
    at: event.timestamp,
    ...(typeof context['ip'] === 'string' ? { ip: context['ip'] } : {}),
    ...(typeof context['userAgent'] === 'string' ? { userAgent: context['userAgent'] } : {}),
    ...(typeof version === 'string' || typeof version === 'number' ? { textVersion: String(version) } : {}),
  };
}

/** The consent changes an event carries, with the categories it could not read. */
export function consentChangesOf(event: TrackedEvent, config: ConsentConfig): ExtractedConsent {
  const prefs = categoryPreferencesOf(event);
  if (prefs === undefined) return NOTHING_CARRIED;
  const categories = Object.entries(prefs);
  if (categories.length === 0) return NOTHING_CARRIED;
  const result = { changes: [] as ConsentChange[], unknownCategories: [] as string[], invalidCategories: [] as string[] };

  const choices = new Map<string, ConsentChoice>();
  for (const [category, value] of categories) {
    const purposes = purposesOfCategory(config, category);
    if (purposes === undefined) {
      result.unknownCategories.push(category);
      continue;
    }
    if (typeof value !== 'boolean') {
      result.invalidCategories.push(category);
      continue;
    }
    for (const purpose of purposes) {
      if (choices.get(purpose) !== 'denied') choices.set(purpose, value ? 'granted' : 'denied');
    }
  }
  if (config.missingCategories === 'denied') {
    for (const purpose of aliasedPurposes(config)) if (!choices.has(purpose)) choices.set(purpose, 'denied');
  }

  if (choices.size === 0) return result;
  const proof = proofOfEvent(event);
  const observed = !(event.type === 'track' && event.name === CONSENT_UPDATED_EVENT);
  for (const { id: purpose } of config.purposes) {
    const choice = choices.get(purpose);
    if (choice === undefined) continue;
    const expiresAt = choice === 'granted' ? grantExpiry(config, purpose, proof.at) : undefined;
    result.changes.push({
      purpose,
      choice,
      proof,
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      ...(observed ? { observed: true } : {}),
    });
  }
  return result;
}

/** When a grant made at `at` expires under the purpose's `grantValidityDays`, if it has one. */
export function grantExpiry(config: ConsentConfig, purpose: string, at: number): number | undefined {
  const days = findPurpose(config, purpose)?.grantValidityDays;
  return days === undefined ? undefined : at + days * DAY_MS;
}
