/** The one decision: may data be used for a purpose, may a contact point get marketing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_CONSENT_CONFIG,
  findPurpose,
  mayContact,
  mayUse,
  mayUsePurpose,
  subscribe,
  unsubscribe,
  type ConsentChange,
  type ConsentConfig,
  type DecisionReason,
  type Purpose,
  type Subscriptions,
} from '../../../src/core/consent/index.ts';
import { aDenial, aGrant, anEmail, aPhone, consentOf, DAY, T0 } from './builders.ts';

const purpose = (id: string): Purpose => {
  const p = findPurpose(DEFAULT_CONSENT_CONFIG, id);
  assert.ok(p);
  return p;
};

describe('mayUse', () => {
  const now = T0 + DAY;
  const cases: Array<[string, string, ConsentChange[], boolean, DecisionReason]> = [
    ['analytics with no choice (allowed by default)', 'analytics', [], true, 'granted_by_default'],
    ['advertising with no choice (refused by default)', 'advertising', [], false, 'denied_by_default'],
    ['a granted purpose', 'advertising', [aGrant('advertising')], true, 'granted'],
    ['a refused purpose', 'analytics', [aDenial('analytics')], false, 'denied'],
    ['a withdrawn purpose', 'analytics', [aGrant('analytics'), aDenial('analytics', { at: T0 + 1 })], false, 'revoked'],
    ['an expired grant', 'advertising', [aGrant('advertising', { expiresAt: now })], false, 'expired'],
    ['an unexpired grant', 'advertising', [aGrant('advertising', { expiresAt: now + 1 })], true, 'granted'],
  ];
  for (const [name, id, changes, allowed, reason] of cases) {
    it(name, () => assert.deepEqual(mayUse(consentOf(...changes), purpose(id), now), { allowed, reason }));
  }

  it('refuses a purpose the config does not define', () => {
    assert.deepEqual(mayUsePurpose(consentOf(aGrant('tracking')), 'tracking', T0, DEFAULT_CONSENT_CONFIG), {
      allowed: false,
      reason: 'unknown_purpose',
    });
  });
});

describe('mayContact', () => {
  const ada = anEmail('ada@example.com');
  const phone = aPhone('+15551234567');
  const subscribed = (cp = ada): Subscriptions => {
    const r = subscribe({}, cp, { source: 'api', at: T0, method: 'form', textVersion: 'v1' });
    assert.ok(r.ok);
    return r.subscriptions;
  };
  const unsubscribed = (cp = ada): Subscriptions => {
    const r = unsubscribe({}, cp, { source: 'link', at: T0 });
    assert.ok(r.ok);
    return r.subscriptions;
  };
  const refuseUnasked: ConsentConfig = { ...DEFAULT_CONSENT_CONFIG, emailWithoutSubscription: 'refused' };

  const email: Array<[string, Subscriptions, ConsentChange[], ConsentConfig, boolean, DecisionReason]> = [
    [
      'a subscribed address with email_marketing granted',
      subscribed(),
      [aGrant('email_marketing')],
      DEFAULT_CONSENT_CONFIG,
      true,
      'subscribed',
    ],
    ['an address never asked, by default', {}, [aGrant('email_marketing')], DEFAULT_CONSENT_CONFIG, true, 'not_subscribed_allowed'],
    ['an address never asked, when config refuses it', {}, [aGrant('email_marketing')], refuseUnasked, false, 'not_subscribed'],
    ['an unsubscribed address', unsubscribed(), [aGrant('email_marketing')], DEFAULT_CONSENT_CONFIG, false, 'unsubscribed'],
    ['email_marketing refused', subscribed(), [aDenial('email_marketing')], DEFAULT_CONSENT_CONFIG, false, 'denied'],
    ['email_marketing never chosen (denied by default)', subscribed(), [], DEFAULT_CONSENT_CONFIG, false, 'denied_by_default'],
  ];
  for (const [name, subs, changes, config, allowed, reason] of email) {
    it(`e-mail: ${name}`, () => assert.deepEqual(mayContact(subs, consentOf(...changes), ada, T0, config), { allowed, reason }));
  }

  const grantsByDefault: ConsentConfig = {
    ...DEFAULT_CONSENT_CONFIG,
    purposes: DEFAULT_CONSENT_CONFIG.purposes.map((p) => (p.id === 'sms_marketing' ? { ...p, defaultWhenUnknown: 'granted' as const } : p)),
  };
  const sms: Array<[string, Subscriptions, ConsentChange[], ConsentConfig, boolean, DecisionReason]> = [
    ['subscribed with sms_marketing granted', subscribed(phone), [aGrant('sms_marketing')], DEFAULT_CONSENT_CONFIG, true, 'subscribed'],
    ['never subscribed', {}, [aGrant('sms_marketing')], DEFAULT_CONSENT_CONFIG, false, 'not_subscribed'],
    ['unsubscribed', unsubscribed(phone), [aGrant('sms_marketing')], DEFAULT_CONSENT_CONFIG, false, 'unsubscribed'],
    ['sms_marketing refused', subscribed(phone), [aDenial('sms_marketing')], DEFAULT_CONSENT_CONFIG, false, 'sms_consent_not_granted'],
    ['sms_marketing granted only by default', subscribed(phone), [], grantsByDefault, false, 'sms_consent_not_granted'],
    [
      'sms_marketing grant expired',
      subscribed(phone),
      [aGrant('sms_marketing', { expiresAt: T0 })],
      DEFAULT_CONSENT_CONFIG,
      false,
      'sms_consent_not_granted',
    ],
  ];
  for (const [name, subs, changes, config, allowed, reason] of sms) {
    it(`SMS: ${name}`, () => assert.deepEqual(mayContact(subs, consentOf(...changes), phone, T0, config), { allowed, reason }));
  }
});
