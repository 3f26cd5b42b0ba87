/**
 * The one place that decides whether a profile's data may be used for a purpose, and whether a
 * contact point may receive marketing. Ingestion, segments, the API and activation all ask here.
 *
 * Defaults:
 * - A purpose with no recorded choice takes its `defaultWhenUnknown`: `analytics` and
 *   `personalization` granted, `advertising`, `email_marketing` and `sms_marketing` denied (see
 *   DEFAULT_PURPOSES). A purpose the config does not define is never allowed.
 * - A grant whose `expiresAt` has passed is `expired`, which refuses like a denial.
 * - Marketing e-mail: `email_marketing` must be allowed (a recorded grant or its default) AND the
 *   address subscribed, or never asked (`did_not_subscribe`) when `emailWithoutSubscription` is
 *   `allowed` (the default). An unsubscribed address is always refused.
 * - Marketing SMS: `sms_marketing` must be explicitly granted (a default grant does not count) AND
 *   the number explicitly subscribed. Anything less is refused.
 */
import { findPurpose, type ConsentConfig, type Purpose } from './purposes.ts';
import { purposeConsent, statusAt, type ConsentState } from './state.ts';
import { contactPointKey, subscriptionStatus, type ContactPoint, type Subscriptions } from './subscriptions.ts';

/** Why a use or contact is allowed or refused. A closed list, for counters, logs and the API. */
export const DECISION_REASONS = {
  granted: 'The person granted this purpose.',
  granted_by_default: 'No choice was recorded and the purpose is allowed by default.',
  denied: 'The person refused this purpose.',
  revoked: 'The person granted this purpose, then withdrew it.',
  expired: 'The grant for this purpose has expired.',
  denied_by_default: 'No choice was recorded and the purpose is refused by default.',
  unknown_purpose: 'The purpose is not configured.',
  subscribed: 'The contact point is subscribed and the purpose allows it.',
  not_subscribed_allowed: 'The address never subscribed nor unsubscribed, which is allowed for e-mail by config.',
  unsubscribed: 'The contact point unsubscribed.',
  not_subscribed: 'The contact point never subscribed.',
  sms_consent_not_granted: 'SMS marketing needs an explicit, unexpired grant of sms_marketing.',
} as const;
export type DecisionReason = keyof typeof DECISION_REASONS;

export interface Decision {
  readonly allowed: boolean;
  readonly reason: DecisionReason;
}

/** May the profile's data be used for `purpose` at `now`? */
export function mayUse(consent: ConsentState, purpose: Purpose, now: number): Decision {
  const recorded = purposeConsent(consent, purpose.id);
  if (recorded === undefined) {
    return purpose.defaultWhenUnknown === 'granted' ? allow('granted_by_default') : refuse('denied_by_default');
  }
  const status = statusAt(recorded, now);
  return status === 'granted' ? allow('granted') : refuse(status);
}

/** `mayUse` by purpose id; an id the config does not define is refused. */
export function mayUsePurpose(consent: ConsentState, purposeId: string, now: number, config: ConsentConfig): Decision {
  const purpose = findPurpose(config, purposeId);
  return purpose === undefined ? refuse('unknown_purpose') : mayUse(consent, purpose, now);
}

/** May a marketing message go to this contact point at `now`? */
export function mayContact(
  subscriptions: Subscriptions,
  consent: ConsentState,
  contactPoint: ContactPoint,
  now: number,
  config: ConsentConfig,
): Decision {
  const subscription = subscriptionStatus(subscriptions, contactPoint);
  switch (contactPoint.channel) {
    case 'email': {
      const use = mayUsePurpose(consent, 'email_marketing', now, config);
      if (!use.allowed) return use;
      if (subscription === 'subscribed') return allow('subscribed');
      if (subscription === 'unsubscribed') return refuse('unsubscribed');
      return config.emailWithoutSubscription === 'refused' ? refuse('not_subscribed') : allow('not_subscribed_allowed');
    }
    case 'sms': {
      if (findPurpose(config, 'sms_marketing') === undefined) return refuse('unknown_purpose');
      const recorded = purposeConsent(consent, 'sms_marketing');
      if (recorded === undefined || statusAt(recorded, now) !== 'granted') return refuse('sms_consent_not_granted');
      if (subscription === 'subscribed') return allow('subscribed');
      return refuse(subscription === 'unsubscribed' ? 'unsubscribed' : 'not_subscribed');
    }
    default: {
      const _never: never = contactPoint.channel;
      return _never;
    }
  }
}

const allow = (reason: DecisionReason): Decision => ({ allowed: true, reason });
const refuse = (reason: DecisionReason): Decision => ({ allowed: false, reason });

/** The decision for every configured purpose. */
export function purposeDecisions(consent: ConsentState, config: ConsentConfig, now: number): Record<string, Decision> {
  const decisions: Record<string, Decision> = {};
  for (const p of config.purposes) decisions[p.id] = mayUsePurpose(consent, p.id, now, config);
  return decisions;
}

/** What a profile body shows of consent: the decision for every configured purpose, and each held contact point's status. */
export interface ConsentSummary {
  purposes: Record<string, Decision>;
  /** Contact point key → subscription status. */
  subscriptions: Record<string, string>;
}

export function consentSummary(
  consent: ConsentState,
  subscriptions: readonly { contactPoint: ContactPoint; status: string }[],
  config: ConsentConfig,
  now: number,
): ConsentSummary {
  const purposes = purposeDecisions(consent, config, now);
  const held: Record<string, string> = {};
  for (const s of subscriptions) held[contactPointKey(s.contactPoint)] = s.status;
  return { purposes, subscriptions: held };
}
