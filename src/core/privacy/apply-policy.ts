/**
 * Apply a source's collection policy to one event: a plan for ingestion to carry out.
 *
 * Consent counts as of the event: the choices the event carries itself (`categoryPreferences`) join
 * the stored consent by time, so the event's own newer choice wins over an older stored one, and an
 * older one on a late event does not override a newer stored choice. Grant expiry is judged at `now`
 * (when the decision is made): an event arriving after its grant expired is not stored under it.
 *
 * The input event is never changed: the plan holds a transformed copy (or the input itself for `drop`).
 */
import { consentChangesOf } from '../consent/extract.ts';
import { DEFAULT_CONSENT_CONFIG, type ConsentConfig } from '../consent/purposes.ts';
import { applyConsentChanges, type ConsentState } from '../consent/state.ts';
import { mayUsePurpose } from '../consent/decide.ts';
import type { TrackedEvent } from '../event/event.ts';
import type { CollectionPolicy, PolicyMode } from './collection-policy.ts';
import { anonymiseMessage, hashField, removeField } from './fields.ts';

export interface CollectionPlan {
  readonly action: PolicyMode;
  /** The event to store (a copy, transformed); for `drop`, the input unchanged. */
  readonly event: TrackedEvent;
  /**
   * What was decided and done, as stable strings for counters and the event's audit trail:
   * `purpose:<id>:<reason>`, `mode:<mode>`, `remove:<path>`, `hash:<path>`, `anonymise:<path>`,
   * `consent:unknown_category:<name>`, `consent:invalid_category:<name>`.
   */
  readonly decisions: string[];
}

/** Decide what to keep of `event` under `policy`, given the person's stored consent. */
export function applyCollectionPolicy(
  event: TrackedEvent,
  policy: CollectionPolicy,
  consent: ConsentState,
  now: number,
  hashSecret: string,
  config: ConsentConfig = DEFAULT_CONSENT_CONFIG,
): CollectionPlan {
  const decisions: string[] = [];
  const carried = consentChangesOf(event, config);
  for (const c of carried.unknownCategories) decisions.push(`consent:unknown_category:${c}`);
  for (const c of carried.invalidCategories) decisions.push(`consent:invalid_category:${c}`);
  const effective = applyConsentChanges(consent, carried.changes);
  const allowed = (purpose: string): boolean => mayUsePurpose(effective, purpose, now, config).allowed;

  let action: PolicyMode = 'store';
  if (policy.requiredPurpose === undefined) {
    action = policy.mode;
  } else {
    const use = mayUsePurpose(effective, policy.requiredPurpose, now, config);
    decisions.push(`purpose:${policy.requiredPurpose}:${use.reason}`);
    if (!use.allowed) action = policy.mode;
  }
  decisions.push(`mode:${action}`);
  if (action === 'drop') return { action, event, decisions };

  const message = structuredClone(event.message);
  for (const rule of policy.fieldRules ?? []) {
    if (rule.unlessPurpose !== undefined && allowed(rule.unlessPurpose)) continue;
    const done = rule.action === 'remove' ? removeField(message, rule.path) : hashField(message, rule.path, hashSecret);
    if (done) decisions.push(`${rule.action}:${rule.path}`);
  }
  if (action !== 'anonymise') return { action, event: { ...event, message }, decisions };

  for (const path of anonymiseMessage(message)) decisions.push(`anonymise:${path}`);
  // No replacement id: a fresh random one would need an id generator, and a derived one would
  // re-identify. The event keeps no identity and joins no profile.
  return { action, event: { ...event, userId: null, anonymousId: null, message }, decisions };
}
