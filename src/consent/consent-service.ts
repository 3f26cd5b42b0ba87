/**
 * Consent and channel subscriptions as the API, the webhooks and other services use them. Reads and
 * writes go through the privacy store; operator changes are audited; every decision comes from the one
 * decision core (`core/consent/decide.ts`).
 *
 * Consent is kept per profile (state + full history with proof). Subscriptions are kept per contact
 * point (the e-mail address or phone number itself), so merges and unmerges never move them: a profile's
 * subscriptions are those of the contact points it holds, and a STOP from a number nobody knows is still
 * honoured.
 */
import type { CountryCode } from 'libphonenumber-js';
import { mayContact, mayUsePurpose, purposeDecisions, type Decision } from '../core/consent/decide.ts';
import { validateConsentConfig, type ConsentConfig } from '../core/consent/purposes.ts';
import { smsKeywordChanges, smsReply, type SmsKeyword } from '../core/consent/sms-keywords.ts';
import { applyConsentChanges, EMPTY_CONSENT, type ConsentChange, type ConsentState } from '../core/consent/state.ts';
import {
  applySubscriptionChange,
  contactPoint,
  contactPointKey,
  contactPointKeyOf,
  type Channel,
  type ContactPoint,
  type Subscription,
  type SubscriptionChange,
  type SubscriptionProof,
} from '../core/consent/subscriptions.ts';
import { TesseraError } from '../core/errors/catalogue.ts';
import { identifierKey, parseIdentifierKey, standardise } from '../core/identity/identifiers.ts';
import { validateCollectionPolicy } from '../core/privacy/collection-policy.ts';
import { loadConsentConfig } from '../privacy/consent-config.ts';
import type { PrivacySecrets } from '../privacy/installation-secret.ts';
import { CONSENT_CONFIG_SETTING, type PrivacyData } from '../storage/privacy/privacy-data.ts';
import type { PrivacyStore } from '../storage/privacy/privacy-store.ts';
import type { ConsentFollower } from './consent-follower.ts';
import { toChange, type StatedChange } from './stated-change.ts';
import { readUnsubscribeToken, signUnsubscribeToken } from './unsubscribe-token.ts';

export interface ProfileConsentView {
  profileId: string;
  purposes: ConsentState['purposes'];
  history: ConsentState['history'];
  subscriptions: Subscription[];
  decisions: Record<string, Decision>;
}

export interface ConsentServiceOptions {
  privacy: PrivacyStore;
  follower: ConsentFollower;
  secrets: PrivacySecrets;
  phoneRegion: CountryCode;
  now: () => number;
  sms: { brand: string; helpContact: string };
}

export class ConsentService {
  constructor(private readonly o: ConsentServiceOptions) {}

  private get data(): PrivacyData {
    return this.o.privacy.data;
  }

  async config(): Promise<ConsentConfig> {
    return loadConsentConfig(this.data);
  }

  /** Replace the purposes config: validated, refused when a stored collection policy would name a missing purpose; audited. */
  async setConfig(json: unknown, actor: string): Promise<ConsentConfig> {
    const checked = validateConsentConfig(json);
    if (!checked.ok) throw invalid(checked.problems);
    return this.o.privacy.transaction('privacy', async (tx) => {
      for (const [sourceId, policy] of await tx.policies()) {
        const still = validateCollectionPolicy(policy, checked.value);
        if (!still.ok)
          throw new TesseraError(
            'validation_failed',
            `the collection policy of source ${sourceId} would become invalid: ${still.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
          );
      }
      await tx.putSetting(CONSENT_CONFIG_SETTING, JSON.stringify(checked.value));
      await tx.bumpVersion();
      await tx.audit({ at: this.o.now(), actor, action: 'consent.config', target: 'purposes', detail: { config: checked.value } });
      return checked.value;
    });
  }

  /** Consent, subscriptions and decisions of a profile (after applying pending event consent). Null: no such profile. */
  async ofProfile(id: string): Promise<ProfileConsentView | null> {
    await this.o.follower.sync();
    const profileId = await this.data.liveProfileId(id);
    if (profileId === null) return null;
    const [stored, subscriptions, config] = await Promise.all([
      this.data.consent(profileId),
      this.subscriptionsOf(profileId),
      this.config(),
    ]);
    const consent = stored ?? EMPTY_CONSENT;
    const decisions = purposeDecisions(consent, config, this.o.now());
    return { profileId, purposes: consent.purposes, history: consent.history, subscriptions, decisions };
  }

  /** May the profile's data be used for `purpose`? Null: no such profile. */
  async mayUse(id: string, purpose: string): Promise<{ profileId: string; purpose: string; decision: Decision } | null> {
    await this.o.follower.sync();
    const profileId = await this.data.liveProfileId(id);
    if (profileId === null) return null;
    const config = await this.config();
    const consent = (await this.data.consent(profileId)) ?? EMPTY_CONSENT;
    return { profileId, purpose, decision: mayUsePurpose(consent, purpose, this.o.now(), config) };
  }

  /** May a marketing message go to this contact point? Uses the consent of the profile holding it (defaults when none). */
  async mayContact(
    channel: Channel,
    address: string,
  ): Promise<{ contactPoint: ContactPoint; profileId: string | null; decision: Decision }> {
    await this.o.follower.sync();
    const cp = this.contactPointOf(channel, address);
    const profileId = await this.profileOfContactPoint(cp);
    const consent = profileId === null ? EMPTY_CONSENT : ((await this.data.consent(profileId)) ?? EMPTY_CONSENT);
    const subs = await this.data.subscriptions([contactPointKey(cp)]);
    return { contactPoint: cp, profileId, decision: mayContact(subs, consent, cp, this.o.now(), await this.config()) };
  }

  /** Record consent changes stated by an operator (`api`) or an import (`import`); audited. Null: no such profile. */
  async change(id: string, stated: readonly StatedChange[], actor: string, source: 'api' | 'import'): Promise<ProfileConsentView | null> {
    const config = await this.config();
    const now = this.o.now();
    const changes = stated.map((s, i) => toChange(s, i, source, actor, now, config));
    const profileId = await this.o.privacy.transaction('privacy', async (tx) => {
      const live = await tx.liveProfileId(id);
      if (live === null) return null;
      await this.applyTo(tx, live, changes, now);
      await tx.audit({
        at: now,
        actor,
        action: 'consent.change',
        target: live,
        detail: {
          source,
          changes: changes.map((c) => ({ purpose: c.purpose, choice: c.choice, at: c.proof.at, textVersion: c.proof.textVersion })),
        },
      });
      return live;
    });
    return profileId === null ? null : this.ofProfile(profileId);
  }

  /** Bulk import: each record names its subject by an identifier. Answers what was applied and who was not found. */
  async import(
    records: ReadonlyArray<{ subject: { type: string; value: string }; changes: StatedChange[] }>,
    actor: string,
  ): Promise<{ applied: number; notFound: number[] }> {
    const notFound: number[] = [];
    let applied = 0;
    for (const [i, r] of records.entries()) {
      const s = standardise(r.subject.type, r.subject.value, this.o.phoneRegion);
      const key = s.ok ? identifierKey(s.identifier) : null;
      const profileId = key === null ? undefined : (await this.data.profilesHolding([key])).get(key);
      if (profileId === undefined) {
        notFound.push(i);
        continue;
      }
      await this.change(profileId, r.changes, actor, 'import');
      applied++;
    }
    return { applied, notFound };
  }

  async subscription(channel: Channel, address: string): Promise<Subscription> {
    const cp = this.contactPointOf(channel, address);
    const key = contactPointKey(cp);
    return (
      (await this.data.subscriptions([key]))[key] ?? {
        contactPoint: cp,
        status: 'did_not_subscribe',
        proof: { source: 'api', at: 0 },
        history: [],
      }
    );
  }

  /**
   * Subscribe or unsubscribe a contact point. Marketing SMS needs explicit opt-in proof (TCPA): without
   * it the change is refused with `missing_opt_in_proof`. Audited.
   */
  async setSubscription(
    channel: Channel,
    address: string,
    status: SubscriptionChange['status'],
    proof: Omit<SubscriptionProof, 'source' | 'at'> & { at?: number; source?: SubscriptionProof['source'] },
    actor: string,
  ): Promise<Subscription> {
    const cp = this.contactPointOf(channel, address);
    const now = this.o.now();
    const change: SubscriptionChange = {
      contactPoint: cp,
      status,
      proof: { ...proof, source: proof.source ?? 'api', at: proof.at ?? now, operator: actor },
    };
    return this.o.privacy.transaction('privacy', async (tx) => {
      const sub = await this.applySubscription(tx, change, now);
      await tx.audit({
        at: now,
        actor,
        action: 'consent.subscription',
        target: contactPointKey(cp).startsWith('email:') ? 'email' : 'sms',
        detail: {
          status,
          method: proof.method ?? null,
          textVersion: proof.textVersion ?? null,
          profileId: await this.profileOfContactPoint(cp, tx),
        },
      });
      return sub;
    });
  }

  /**
   * An inbound SMS: STOP-like words unsubscribe the number, START-like words subscribe it and grant
   * `sms_marketing` on the profile holding the number, HELP gets the help text. Answers the reply to send.
   */
  async inboundSms(sms: {
    from: string;
    body: string;
    providerMessageId?: string;
  }): Promise<{ keyword: SmsKeyword; reply: string | null }> {
    const s = standardise('phone', sms.from, this.o.phoneRegion);
    if (!s.ok) throw new TesseraError('validation_failed', '`From` is not a phone number');
    const now = this.o.now();
    const outcome = smsKeywordChanges({
      from: s.identifier.value,
      body: sms.body.slice(0, 1600),
      at: now,
      providerMessageId: sms.providerMessageId,
    });
    if (outcome.subscription !== null) {
      const change = outcome.subscription;
      await this.o.privacy.transaction('privacy', async (tx) => {
        await this.applySubscription(tx, change, now);
        const profileId = await this.profileOfContactPoint(change.contactPoint, tx);
        if (outcome.consent !== null && profileId !== null) await this.applyTo(tx, profileId, [outcome.consent], now);
        await tx.audit({
          at: now,
          actor: 'sms',
          action: 'consent.sms_keyword',
          target: 'sms',
          detail: { keyword: outcome.keyword, profileId },
        });
      });
    }
    return { keyword: outcome.keyword, reply: smsReply(outcome.keyword, this.o.sms.brand, this.o.sms.helpContact) };
  }

  /** A signed one-click unsubscribe token for an address (for e-mail templates). */
  unsubscribeToken(email: string): string {
    return signUnsubscribeToken(this.o.secrets.links, this.contactPointOf('email', email).address, this.o.now());
  }

  /** Check a token (no change): the address it unsubscribes, or `invalid_signature`. */
  verifyUnsubscribeToken(token: string): string {
    const email = readUnsubscribeToken(this.o.secrets.links, token, this.o.now());
    if (email === null) throw new TesseraError('invalid_signature', 'the unsubscribe link is invalid or has expired');
    return email;
  }

  /** Unsubscribe the address a valid token names; proof is the link click (time, IP, user agent). */
  async unsubscribeByToken(token: string, context: { ip?: string; userAgent?: string }): Promise<void> {
    const email = this.verifyUnsubscribeToken(token);
    const now = this.o.now();
    const change: SubscriptionChange = {
      contactPoint: { channel: 'email', address: email },
      status: 'unsubscribed',
      proof: {
        source: 'link',
        at: now,
        method: 'link',
        ...(context.ip !== undefined ? { ip: context.ip } : {}),
        ...(context.userAgent !== undefined ? { userAgent: context.userAgent.slice(0, 500) } : {}),
      },
    };
    await this.o.privacy.transaction('privacy', async (tx) => {
      await this.applySubscription(tx, change, now);
      await tx.audit({ at: now, actor: 'unsubscribe-link', action: 'consent.unsubscribe_link', target: 'email', detail: {} });
    });
  }

  // ---- helpers ----

  private contactPointOf(channel: Channel, address: string): ContactPoint {
    // Phones are standardised like identity does (national numbers read in the default region).
    let raw = address;
    if (channel === 'sms') {
      const phone = standardise('phone', address, this.o.phoneRegion);
      if (phone.ok) raw = phone.identifier.value;
    }
    const cp = contactPoint(channel, raw);
    if (!cp.ok) throw new TesseraError('validation_failed', cp.reason);
    return cp.contactPoint;
  }

  private async profileOfContactPoint(cp: ContactPoint, tx: PrivacyData = this.data): Promise<string | null> {
    const key = `${cp.channel === 'email' ? 'email' : 'phone'}:${cp.address}`;
    return (await tx.profilesHolding([key])).get(key) ?? null;
  }

  private async subscriptionsOf(profileId: string): Promise<Subscription[]> {
    const keys = (await this.data.identifierKeysOf(profileId)).flatMap((k) => {
      const id = parseIdentifierKey(k);
      return (id && contactPointKeyOf(id)) ?? [];
    });
    return Object.values(await this.data.subscriptions(keys));
  }

  private async applyTo(tx: PrivacyData, profileId: string, changes: readonly ConsentChange[], now: number): Promise<void> {
    const before = (await tx.consent(profileId)) ?? EMPTY_CONSENT;
    const after = applyConsentChanges(before, changes);
    if (after !== before) await tx.putConsent(profileId, after, now);
  }

  private async applySubscription(tx: PrivacyData, change: SubscriptionChange, now: number): Promise<Subscription> {
    const key = contactPointKey(change.contactPoint);
    const current = await tx.subscriptions([key]);
    const result = applySubscriptionChange(current, change);
    if (!result.ok) {
      throw new TesseraError(result.code === 'missing_opt_in_proof' ? 'missing_opt_in_proof' : 'validation_failed', result.reason);
    }
    const next = result.subscriptions[key];
    if (next === undefined) throw new Error('a recorded subscription change must leave a subscription');
    if (next !== current[key]) await tx.putSubscription(key, next, now);
    return next;
  }
}

function invalid(problems: ReadonlyArray<{ path: string; message: string }>): TesseraError {
  return new TesseraError('validation_failed', problems.map((p) => `${p.path || '/'}: ${p.message}`).join('; '));
}
