/** Consent carried by events (Segment's categoryPreferences), with its proof and what could not be read. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consentChangesOf, DEFAULT_CONSENT_CONFIG, type ConsentConfig } from '../../../src/core/consent/index.ts';
import { anEventWithConsent, DAY, T0 } from './builders.ts';

const choices = (config: ConsentConfig, prefs: Record<string, unknown>) =>
  Object.fromEntries(consentChangesOf(anEventWithConsent({ prefs }), config).changes.map((c) => [c.purpose, c.choice]));

describe('consentChangesOf', () => {
  const scenarios: Array<[string, Record<string, unknown>, Record<string, string>]> = [
    ['an empty object changes nothing', {}, {}],
    ['categories map to purposes', { Analytics: true, Advertising: false }, { analytics: 'granted', advertising: 'denied' }],
    ['two categories for one purpose: the refusal wins', { Marketing: true, Targeting: false }, { advertising: 'denied' }],
    ['a strictly-necessary category concerns no purpose', { C0001: true }, {}],
    ['unmentioned purposes stay unchanged', { Functional: true }, { personalization: 'granted' }],
  ];
  for (const [name, prefs, expected] of scenarios) it(name, () => assert.deepEqual(choices(DEFAULT_CONSENT_CONFIG, prefs), expected));

  it('changes nothing for an event without consent', () => {
    assert.deepEqual(consentChangesOf(anEventWithConsent(), DEFAULT_CONSENT_CONFIG), {
      changes: [],
      unknownCategories: [],
      invalidCategories: [],
    });
  });

  it('reports unknown categories and non-boolean values instead of dropping them silently', () => {
    const result = consentChangesOf(
      anEventWithConsent({ prefs: { Cookies: true, Analytics: 'yes', Advertising: true } }),
      DEFAULT_CONSENT_CONFIG,
    );
    assert.deepEqual(result.unknownCategories, ['Cookies']);
    assert.deepEqual(result.invalidCategories, ['Analytics']);
    assert.deepEqual(
      result.changes.map((c) => c.purpose),
      ['advertising'],
    );
  });

  it('denies aliased purposes the event leaves out when configured to', () => {
    const strict: ConsentConfig = { ...DEFAULT_CONSENT_CONFIG, missingCategories: 'denied' };
    assert.deepEqual(choices(strict, { Analytics: true }), { analytics: 'granted', personalization: 'denied', advertising: 'denied' });
  });

  it('takes its proof from the event', () => {
    const event = anEventWithConsent({
      prefs: { Analytics: true },
      at: T0,
      context: { ip: '203.0.113.9', userAgent: 'Mozilla/5.0', consent: { version: 3 } },
    });
    const [change] = consentChangesOf(event, DEFAULT_CONSENT_CONFIG).changes;
    assert.deepEqual(change?.proof, {
      source: 'event',
      sourceId: 'web',
      eventMessageId: event.messageId,
      at: T0,
      ip: '203.0.113.9',
      userAgent: 'Mozilla/5.0',
      textVersion: '3',
    });
  });

  it('marks choices on ordinary events as observed, and those of a consent update as explicit', () => {
    const page = consentChangesOf(anEventWithConsent({ prefs: { Analytics: true } }), DEFAULT_CONSENT_CONFIG);
    const update = consentChangesOf(anEventWithConsent({ prefs: { Analytics: true }, preferenceUpdate: true }), DEFAULT_CONSENT_CONFIG);
    assert.equal(page.changes[0]?.observed, true);
    assert.equal(update.changes[0]?.observed, undefined);
  });

  it('sets a grant to expire after the purpose validity', () => {
    const config: ConsentConfig = {
      ...DEFAULT_CONSENT_CONFIG,
      purposes: DEFAULT_CONSENT_CONFIG.purposes.map((p) => (p.id === 'advertising' ? { ...p, grantValidityDays: 395 } : p)),
    };
    const changes = consentChangesOf(anEventWithConsent({ prefs: { Advertising: true, Analytics: true }, at: T0 }), config).changes;
    assert.deepEqual(
      changes.map((c) => [c.purpose, c.expiresAt]),
      [
        ['analytics', undefined],
        ['advertising', T0 + 395 * DAY],
      ],
    );
  });
});
