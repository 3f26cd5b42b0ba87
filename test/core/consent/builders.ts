/** Consent in the domain's words: `aGrant('analytics', { at: T0 })`, `consentOf(aGrant(…), aDenial(…))`. */
import type { JsonObject, TrackedEvent } from '../../../src/core/event/event.ts';
import {
  applyConsentChanges,
  contactPoint,
  EMPTY_CONSENT,
  type ConsentChange,
  type ConsentProof,
  type ConsentState,
  type ContactPoint,
} from '../../../src/core/consent/index.ts';
import { anEvent, T0 } from '../identity/builders.ts';

export { T0, DAY, HOUR, MINUTE } from '../identity/builders.ts';

export interface ChangeInput extends Partial<ConsentProof> {
  expiresAt?: number;
  observed?: boolean;
}

function change(purpose: string, choice: ConsentChange['choice'], input: ChangeInput): ConsentChange {
  const { expiresAt, observed, ...proof } = input;
  return {
    purpose,
    choice,
    proof: { source: 'api', at: T0, ...proof },
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    ...(observed !== undefined ? { observed } : {}),
  };
}

export const aGrant = (purpose: string, input: ChangeInput = {}): ConsentChange => change(purpose, 'granted', input);
export const aDenial = (purpose: string, input: ChangeInput = {}): ConsentChange => change(purpose, 'denied', input);

/** The consent a profile has after these changes, applied in the order given. */
export function consentOf(...changes: ConsentChange[]): ConsentState {
  return applyConsentChanges(EMPTY_CONSENT, changes);
}

export interface ConsentEventInput {
  prefs?: JsonObject;
  at?: number;
  /** A `Segment Consent Preference Updated` track instead of a page view. */
  preferenceUpdate?: boolean;
  context?: JsonObject;
  userId?: string;
  properties?: JsonObject;
  traits?: JsonObject;
}

/** A page view (or a consent update) carrying `context.consent.categoryPreferences`. */
export function anEventWithConsent(input: ConsentEventInput = {}): TrackedEvent {
  const context: JsonObject = { ...input.context };
  if (input.prefs !== undefined) context.consent = { ...(context.consent as JsonObject | undefined), categoryPreferences: input.prefs };
  const event = input.preferenceUpdate
    ? anEvent('track', { event: 'Segment Consent Preference Updated', userId: input.userId ?? 'u1', context, at: input.at ?? T0 })
    : anEvent('page', { userId: input.userId ?? 'u1', context, at: input.at ?? T0 });
  if (input.properties !== undefined) event.message.properties = input.properties;
  if (input.traits !== undefined) event.message.traits = input.traits;
  return event;
}

export function anEmail(address: string): ContactPoint {
  const cp = contactPoint('email', address);
  if (!cp.ok) throw new Error(cp.reason);
  return cp.contactPoint;
}

export function aPhone(number: string): ContactPoint {
  const cp = contactPoint('sms', number);
  if (!cp.ok) throw new Error(cp.reason);
  return cp.contactPoint;
}
