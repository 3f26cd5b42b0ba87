/**
 * Consent state: choices ordered by when they were made, refusals after grants become revocations,
 * history keeps everything, and the decision never depends on arrival order (nor, without observed
 * choices carried on ordinary events, anything else).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  applyConsentChange,
  applyConsentChanges,
  EMPTY_CONSENT,
  purposeConsent,
  statusAt,
  type ConsentChange,
  type ConsentStatus,
} from '../../../src/core/consent/index.ts';
import { aChange, someChanges } from './arbitraries.ts';
import { aDenial, aGrant, consentOf, DAY, HOUR, T0 } from './builders.ts';

describe('applyConsentChange', () => {
  const scenarios: Array<[string, ConsentChange[], ConsentStatus | undefined, number]> = [
    ['nothing recorded', [], undefined, 0],
    ['a grant', [aGrant('analytics', { at: T0 })], 'granted', 1],
    ['a refusal', [aDenial('analytics', { at: T0 })], 'denied', 1],
    ['a refusal after a grant is a revocation', [aGrant('analytics', { at: T0 }), aDenial('analytics', { at: T0 + HOUR })], 'revoked', 2],
    ['a grant after a refusal', [aDenial('analytics', { at: T0 }), aGrant('analytics', { at: T0 + HOUR })], 'granted', 2],
    [
      'a late, older grant does not override a newer refusal',
      [aDenial('analytics', { at: T0 + HOUR }), aGrant('analytics', { at: T0 })],
      'revoked',
      2,
    ],
    [
      'a late, older refusal does not override a newer grant',
      [aGrant('analytics', { at: T0 + HOUR }), aDenial('analytics', { at: T0 })],
      'granted',
      2,
    ],
    ['a refusal beats a grant made at the same instant', [aDenial('analytics', { at: T0 }), aGrant('analytics', { at: T0 })], 'revoked', 2],
    [
      'a second refusal keeps the revocation',
      [aGrant('analytics', { at: T0 }), aDenial('analytics', { at: T0 + HOUR }), aDenial('analytics', { at: T0 + 2 * HOUR })],
      'revoked',
      3,
    ],
    [
      'a replayed change is recorded once',
      [aGrant('analytics', { eventMessageId: 'm1' }), aGrant('analytics', { eventMessageId: 'm1' })],
      'granted',
      1,
    ],
  ];
  for (const [name, changes, status, historyLength] of scenarios) {
    it(name, () => {
      const state = consentOf(...changes);
      assert.equal(purposeConsent(state, 'analytics')?.status, status);
      assert.equal(state.history.length, historyLength);
    });
  }

  it('granting after a grant keeps the latest proof and expiry', () => {
    const state = consentOf(
      aGrant('analytics', { at: T0, textVersion: 'v1', expiresAt: T0 + DAY }),
      aGrant('analytics', { at: T0 + HOUR, textVersion: 'v2' }),
    );
    const current = purposeConsent(state, 'analytics');
    assert.equal(current?.proof.textVersion, 'v2');
    assert.equal(current?.expiresAt, undefined);
  });

  it('records a change observed on an ordinary event only when it says something new', () => {
    const granted = consentOf(aGrant('analytics', { at: T0 }));
    const repeat = aGrant('analytics', { at: T0 + HOUR, observed: true, eventMessageId: 'page-2' });
    const same = applyConsentChange(granted, repeat);
    assert.deepEqual(same.purposes, granted.purposes);
    assert.deepEqual(same.history, granted.history, 'not recorded');
    assert.deepEqual(same.observed, { analytics: repeat }, 'but remembered as the latest observed choice');
    const refused = applyConsentChange(granted, aDenial('analytics', { at: T0 + HOUR, observed: true }));
    assert.equal(purposeConsent(refused, 'analytics')?.status, 'revoked');
    assert.equal(refused.history.length, 2);
  });

  it('counts an observed refusal that a late, older grant makes new, whatever the arrival order', () => {
    // The banner said "denied" at 2 h while a refusal from 0 h was in force; a grant made at 1 h arrives last.
    const arrivals = [
      aDenial('analytics', { at: T0 }),
      aDenial('analytics', { at: T0 + 2 * HOUR, observed: true }),
      aGrant('analytics', { at: T0 + HOUR }),
    ];
    for (const order of [arrivals, [arrivals[0]!, arrivals[2]!, arrivals[1]!]]) {
      const state = applyConsentChanges(EMPTY_CONSENT, order);
      assert.equal(purposeConsent(state, 'analytics')?.status, 'revoked');
      assert.equal(purposeConsent(state, 'analytics')?.proof.at, T0 + 2 * HOUR);
    }
  });

  it('decides the same whatever order observed and other changes arrive in', () => {
    const withObserved = fc.array(
      fc.tuple(aChange, fc.boolean()).map(([c, o]) => (o && c.proof.source === 'event' ? { ...c, observed: true } : c)),
      { maxLength: 12 },
    );
    const decided = (changes: readonly ConsentChange[]) =>
      Object.fromEntries(Object.entries(applyConsentChanges(EMPTY_CONSENT, changes).purposes).map(([p, c]) => [p, c.status]));
    fc.assert(
      fc.property(
        withObserved.chain((changes) => fc.tuple(fc.constant(changes), fc.shuffledSubarray(changes, { minLength: changes.length }))),
        ([changes, shuffled]) => assert.deepEqual(decided(shuffled), decided(changes)),
      ),
      { numRuns: 3000 },
    );
  });

  it('keeps history in the order choices were made, whatever the arrival order', () => {
    const state = consentOf(aGrant('ads', { at: T0 + 2 * HOUR }), aDenial('ads', { at: T0 }), aGrant('analytics', { at: T0 + HOUR }));
    assert.deepEqual(
      state.history.map((c) => c.proof.at),
      [T0, T0 + HOUR, T0 + 2 * HOUR],
    );
  });

  it('never changes the state it is given', () => {
    const before = consentOf(aGrant('analytics', { at: T0 }));
    const snapshot = structuredClone(before);
    applyConsentChange(before, aDenial('analytics', { at: T0 + HOUR }));
    assert.deepEqual(before, snapshot);
  });

  it('gives the same state whatever order the changes arrive in', () => {
    fc.assert(
      fc.property(
        someChanges.chain((changes) => fc.tuple(fc.constant(changes), fc.shuffledSubarray(changes, { minLength: changes.length }))),
        ([changes, shuffled]) => {
          assert.deepEqual(applyConsentChanges(EMPTY_CONSENT, shuffled), applyConsentChanges(EMPTY_CONSENT, changes));
        },
      ),
    );
  });

  it('is idempotent: replaying every change changes nothing', () => {
    fc.assert(
      fc.property(someChanges, (changes) => {
        const once = applyConsentChanges(EMPTY_CONSENT, changes);
        assert.deepEqual(applyConsentChanges(once, changes), once);
      }),
    );
  });

  it('makes the state of a purpose its latest choice (a refusal winning ties)', () => {
    fc.assert(
      fc.property(someChanges, (changes) => {
        const state = applyConsentChanges(EMPTY_CONSENT, changes);
        for (const [purpose, current] of Object.entries(state.purposes)) {
          const mine = changes.filter((c) => c.purpose === purpose);
          const latest = Math.max(...mine.map((c) => c.proof.at));
          const refusedAtLatest = mine.some((c) => c.proof.at === latest && c.choice === 'denied');
          assert.equal(current.proof.at, latest);
          assert.equal(current.status === 'granted', !refusedAtLatest);
        }
      }),
    );
  });
});

describe('statusAt', () => {
  const grant = purposeConsent(consentOf(aGrant('analytics', { at: T0, expiresAt: T0 + DAY })), 'analytics');
  assert.ok(grant);
  const cases: Array<[string, number, ConsentStatus]> = [
    ['before expiry', T0 + DAY - 1, 'granted'],
    ['at the expiry instant', T0 + DAY, 'expired'],
    ['after expiry', T0 + 2 * DAY, 'expired'],
  ];
  for (const [name, now, status] of cases) it(`reads a grant ${name} as ${status}`, () => assert.equal(statusAt(grant, now), status));

  it('never expires a refusal', () => {
    const denial = purposeConsent(consentOf(aDenial('analytics', { at: T0, expiresAt: T0 + DAY })), 'analytics');
    assert.ok(denial);
    assert.equal(statusAt(denial, T0 + 2 * DAY), 'denied');
  });
});
