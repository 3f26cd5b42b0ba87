/** Channel subscriptions per contact point; SMS opt-in needs proof and is refused, as a value, without it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  contactPoint,
  mergeSubscriptions,
  subscribe,
  subscriptionStatus,
  unsubscribe,
  type SubscriptionProof,
  type SubscriptionResult,
  type Subscriptions,
} from '../../../src/core/consent/index.ts';
import { anEmail, aPhone, HOUR, T0 } from './builders.ts';

const formOptIn: SubscriptionProof = { source: 'api', at: T0, method: 'form', textVersion: 'sms-terms-v2', ip: '203.0.113.9' };
const keywordOptIn: SubscriptionProof = { source: 'sms', at: T0, method: 'keyword', keyword: 'START' };
const unsubscribeLink: SubscriptionProof = { source: 'link', at: T0 + HOUR };

function ok(result: SubscriptionResult): Subscriptions {
  if (!result.ok) throw new Error(result.reason);
  return result.subscriptions;
}

describe('contactPoint', () => {
  it('lower-cases e-mail addresses', () =>
    assert.deepEqual(contactPoint('email', ' Ada@Example.COM '), {
      ok: true,
      contactPoint: { channel: 'email', address: 'ada@example.com' },
    }));
  it('keeps E.164 numbers as given', () =>
    assert.deepEqual(contactPoint('sms', '+447700900123'), { ok: true, contactPoint: { channel: 'sms', address: '+447700900123' } }));
  for (const [channel, raw] of [
    ['sms', '07700 900123'],
    ['email', 'not-an-address'],
  ] as const) {
    it(`refuses ${channel} '${raw}'`, () => assert.equal(contactPoint(channel, raw).ok, false));
  }
});

describe('subscribe and unsubscribe', () => {
  const ada = anEmail('ada@example.com');
  const phone = aPhone('+15551234567');

  it('starts every contact point as did_not_subscribe', () => assert.equal(subscriptionStatus({}, ada), 'did_not_subscribe'));

  it('subscribes an e-mail address without a consent text', () => {
    assert.equal(subscriptionStatus(ok(subscribe({}, ada, { source: 'api', at: T0 })), ada), 'subscribed');
  });

  const smsProofs: Array<[string, SubscriptionProof, boolean]> = [
    ['a form with the consent text version', formOptIn, true],
    ['the START keyword', keywordOptIn, true],
    ['no method', { source: 'api', at: T0 }, false],
    ['a form without a text version', { source: 'api', at: T0, method: 'form' }, false],
    ['an import without a text version', { source: 'import', at: T0, method: 'import' }, false],
    ['a keyword that is not named', { source: 'sms', at: T0, method: 'keyword' }, false],
  ];
  for (const [name, proof, accepted] of smsProofs) {
    it(`${accepted ? 'accepts' : 'refuses'} an SMS opt-in by ${name}`, () => {
      const result = subscribe({}, phone, proof);
      assert.equal(result.ok, accepted);
      if (!result.ok) {
        assert.equal(result.code, 'missing_opt_in_proof');
        assert.ok(result.reason.length > 0);
      }
    });
  }

  it('refuses an address that is not in standard form', () => {
    const result = subscribe({}, { channel: 'email', address: 'Ada@Example.com' }, { source: 'api', at: T0 });
    assert.deepEqual(result.ok ? null : result.code, 'invalid_contact_point');
  });

  it('unsubscribes without proof of opt-in, and a late older subscribe does not undo it', () => {
    let subs = ok(subscribe({}, phone, formOptIn));
    subs = ok(unsubscribe(subs, phone, unsubscribeLink));
    subs = ok(subscribe(subs, phone, { ...keywordOptIn, at: T0 + 30 * 60_000 }));
    assert.equal(subscriptionStatus(subs, phone), 'unsubscribed');
    assert.deepEqual(
      subs[`sms:${phone.address}`]?.history.map((h) => h.status),
      ['subscribed', 'subscribed', 'unsubscribed'],
    );
  });

  it('records a replayed change once', () => {
    const once = ok(subscribe({}, ada, { source: 'api', at: T0 }));
    assert.equal(ok(subscribe(once, ada, { source: 'api', at: T0 })), once);
  });
});

describe('mergeSubscriptions', () => {
  const ada = anEmail('ada@example.com');
  const subscribed = ok(subscribe({}, ada, { source: 'api', at: T0 + HOUR }));
  const unsubscribed = ok(unsubscribe({}, ada, { source: 'link', at: T0 }));

  it('lets an unsubscribe win over a subscribe, either way round', () => {
    assert.equal(subscriptionStatus(mergeSubscriptions(subscribed, unsubscribed), ada), 'unsubscribed');
    assert.deepEqual(mergeSubscriptions(subscribed, unsubscribed), mergeSubscriptions(unsubscribed, subscribed));
  });

  it('keeps contact points only one side has', () => {
    const bob = anEmail('bob@example.com');
    const merged = mergeSubscriptions(subscribed, ok(subscribe({}, bob, { source: 'api', at: T0 })));
    assert.equal(subscriptionStatus(merged, ada), 'subscribed');
    assert.equal(subscriptionStatus(merged, bob), 'subscribed');
  });
});
