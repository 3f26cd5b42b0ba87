/**
 * Channel subscriptions: whether a contact point (an e-mail address, a phone number) may receive
 * marketing messages, with the proof of how it was decided.
 *
 * A contact point nobody subscribed or unsubscribed is `did_not_subscribe`. Changes are ordered by
 * the time they were made, like consent: a late older change joins the history without overriding,
 * and at the same instant an unsubscribe beats a subscribe.
 *
 * SMS marketing needs express written consent (TCPA), so subscribing a phone requires explicit
 * opt-in proof: a keyword (START by SMS) or a consent text version the person agreed to (a form).
 * Without it the subscription is refused as a value, with a reason; nothing throws.
 */
import type { ConsentProof } from './state.ts';

export const CHANNELS = ['email', 'sms'] as const;
export type Channel = (typeof CHANNELS)[number];

/** E-mail lower-cased and trimmed; phone in E.164 (`+` and up to 15 digits), as given. */
export interface ContactPoint {
  readonly channel: Channel;
  readonly address: string;
}

export const SUBSCRIPTION_STATUSES = ['subscribed', 'unsubscribed', 'did_not_subscribe'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/** How an opt-in or opt-out was expressed. */
export const OPT_IN_METHODS = ['keyword', 'form', 'double_opt_in', 'checkbox', 'import', 'api', 'link'] as const;
export type OptInMethod = (typeof OPT_IN_METHODS)[number];

export interface SubscriptionProof extends ConsentProof {
  readonly method?: OptInMethod;
  /** The keyword received, for method `keyword` (e.g. `START`). */
  readonly keyword?: string;
}

export interface SubscriptionChange {
  readonly contactPoint: ContactPoint;
  readonly status: Exclude<SubscriptionStatus, 'did_not_subscribe'>;
  readonly proof: SubscriptionProof;
}

export interface Subscription {
  readonly contactPoint: ContactPoint;
  readonly status: SubscriptionStatus;
  readonly proof: SubscriptionProof;
  readonly history: readonly SubscriptionChange[];
}

/** Subscriptions of one profile, keyed by `contactPointKey`. */
export type Subscriptions = Readonly<Record<string, Subscription>>;

export type SubscriptionRefusal = 'invalid_contact_point' | 'missing_opt_in_proof';
export type SubscriptionResult = { ok: true; subscriptions: Subscriptions } | { ok: false; code: SubscriptionRefusal; reason: string };
export type ContactPointResult = { ok: true; contactPoint: ContactPoint } | { ok: false; code: 'invalid_contact_point'; reason: string };

const E164 = /^\+[1-9]\d{1,14}$/;
const EMAIL = /^[^\s@]+@[^\s@.][^\s@]*\.[^\s@]+$/;

/** Standardise an address for a channel; refuses what cannot be an address. */
export function contactPoint(channel: Channel, raw: string): ContactPointResult {
  const address = channel === 'email' ? raw.trim().toLowerCase() : raw.trim();
  const valid = channel === 'email' ? EMAIL.test(address) && address.length <= 254 : E164.test(address);
  if (!valid) {
    const expected = channel === 'email' ? 'an e-mail address' : 'a phone number in E.164 form (+15551234567)';
    return { ok: false, code: 'invalid_contact_point', reason: `'${raw}' is not ${expected}` };
  }
  return { ok: true, contactPoint: { channel, address } };
}

/** `email:a@x.io`, `sms:+15551234567`. */
export function contactPointKey(cp: ContactPoint): string {
  return `${cp.channel}:${cp.address}`;
}

/**
 * Identifier types that are contact points, and the channel each reaches: a profile's subscriptions are
 * those of its `email` identifiers (e-mail) and `phone` identifiers (SMS).
 */
export const CONTACT_CHANNELS: Readonly<Record<string, Channel>> = { email: 'email', phone: 'sms' };

/** The contact point key of a (standardised) identifier, or null when its type is not a contact point. */
export function contactPointKeyOf(identifier: { type: string; value: string }): string | null {
  const channel = CONTACT_CHANNELS[identifier.type];
  return channel === undefined ? null : contactPointKey({ channel, address: identifier.value });
}

/** The status of a contact point; `did_not_subscribe` when nothing was recorded. */
export function subscriptionStatus(subscriptions: Subscriptions, cp: ContactPoint): SubscriptionStatus {
  return findSubscription(subscriptions, cp)?.status ?? 'did_not_subscribe';
}

export function findSubscription(subscriptions: Subscriptions, cp: ContactPoint): Subscription | undefined {
  const key = contactPointKey(cp);
  return Object.hasOwn(subscriptions, key) ? subscriptions[key] : undefined;
}

/** Why an SMS opt-in proof is not enough, or `null` when it is. */
export function smsOptInProblem(proof: SubscriptionProof): string | null {
  if (!Number.isFinite(proof.at)) return 'the opt-in has no valid time';
  if (proof.method === undefined) return 'SMS marketing needs explicit opt-in: say how it was given (method)';
  if (proof.method === 'keyword') return proof.keyword ? null : 'a keyword opt-in must name the keyword received';
  if (!proof.textVersion) return 'SMS marketing needs the version of the consent text the person agreed to';
  return null;
}

/** Subscribe a contact point. Refused (as a value) for SMS without explicit opt-in proof. */
export function subscribe(subscriptions: Subscriptions, cp: ContactPoint, proof: SubscriptionProof): SubscriptionResult {
  return applySubscriptionChange(subscriptions, { contactPoint: cp, status: 'subscribed', proof });
}

/** Unsubscribe a contact point. Needs no opt-in proof; refused only for an address not in standard form. */
export function unsubscribe(subscriptions: Subscriptions, cp: ContactPoint, proof: SubscriptionProof): SubscriptionResult {
  return applySubscriptionChange(subscriptions, { contactPoint: cp, status: 'unsubscribed', proof });
}

/** Record a change; returns new subscriptions, or a refusal for an invalid address or missing SMS proof. */
export function applySubscriptionChange(subscriptions: Subscriptions, change: SubscriptionChange): SubscriptionResult {
  const checked = contactPoint(change.contactPoint.channel, change.contactPoint.address);
  if (!checked.ok || checked.contactPoint.address !== change.contactPoint.address) {
    return { ok: false, code: 'invalid_contact_point', reason: checked.ok ? 'the address is not in standard form' : checked.reason };
  }
  if (change.status === 'subscribed' && change.contactPoint.channel === 'sms') {
    const problem = smsOptInProblem(change.proof);
    if (problem !== null) return { ok: false, code: 'missing_opt_in_proof', reason: problem };
  }
  const key = contactPointKey(change.contactPoint);
  const current = findSubscription(subscriptions, change.contactPoint);
  if (current?.history.some((h) => sameChange(h, change))) return { ok: true, subscriptions };
  const history = insertByTime(current?.history ?? [], change);
  const wins =
    current === undefined || later(change, { contactPoint: current.contactPoint, status: asChangeStatus(current), proof: current.proof });
  const next: Subscription = wins
    ? { contactPoint: change.contactPoint, status: change.status, proof: change.proof, history }
    : { ...current, history };
  return { ok: true, subscriptions: { ...subscriptions, [key]: next } };
}

/** Merge two profiles' subscriptions: per contact point the same rule as consent (see merge.ts). */
export function mergeSubscriptions(a: Subscriptions, b: Subscriptions): Subscriptions {
  const out: Record<string, Subscription> = {};
  for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = Object.hasOwn(a, key) ? a[key] : undefined;
    const y = Object.hasOwn(b, key) ? b[key] : undefined;
    if (x === undefined || y === undefined) {
      const only = x ?? y;
      if (only !== undefined) out[key] = only;
      continue;
    }
    const history = y.history.reduce((h, c) => (h.some((e) => sameChange(e, c)) ? h : insertByTime(h, c)), x.history);
    const restrictive = (s: Subscription) => (s.status === 'subscribed' ? 0 : 1);
    const r = restrictive(x) - restrictive(y);
    const winner = r !== 0 ? (r > 0 ? x : y) : order(x, y) >= 0 ? x : y;
    out[key] = { ...winner, history };
  }
  return out;
}

function asChangeStatus(s: Subscription): SubscriptionChange['status'] {
  return s.status === 'subscribed' ? 'subscribed' : 'unsubscribed';
}

function order(
  a: { status: SubscriptionStatus; proof: SubscriptionProof },
  b: { status: SubscriptionStatus; proof: SubscriptionProof },
): number {
  if (a.proof.at !== b.proof.at) return a.proof.at - b.proof.at;
  const r = (a.status === 'subscribed' ? 0 : 1) - (b.status === 'subscribed' ? 0 : 1);
  if (r !== 0) return r;
  const ka = JSON.stringify(a.proof);
  const kb = JSON.stringify(b.proof);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function later(a: SubscriptionChange, b: SubscriptionChange): boolean {
  return order(a, b) > 0;
}

function sameChange(a: SubscriptionChange, b: SubscriptionChange): boolean {
  return a.status === b.status && order(a, b) === 0;
}

function insertByTime(history: readonly SubscriptionChange[], change: SubscriptionChange): readonly SubscriptionChange[] {
  let i = history.length;
  while (i > 0 && order(history[i - 1] as SubscriptionChange, change) > 0) i--;
  return [...history.slice(0, i), change, ...history.slice(i)];
}
