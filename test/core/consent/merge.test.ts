/** Consent when two profiles merge: the more restrictive state wins, histories join in time order. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  applyConsentChanges,
  changeKey,
  EMPTY_CONSENT,
  mergeConsents,
  purposeConsent,
  type ConsentChange,
  type RecordedStatus,
} from '../../../src/core/consent/index.ts';
import { purposeIds, someChanges } from './arbitraries.ts';
import { aDenial, aGrant, consentOf, HOUR, T0 } from './builders.ts';

const statusOf = (a: ConsentChange[], b: ConsentChange[]) =>
  purposeConsent(mergeConsents(consentOf(...a), consentOf(...b)), 'advertising')?.status;

describe('mergeConsents', () => {
  const scenarios: Array<[string, ConsentChange[], ConsentChange[], RecordedStatus | undefined]> = [
    ['neither side chose', [], [], undefined],
    ['only one side granted: the grant is kept', [aGrant('advertising')], [], 'granted'],
    ['only one side refused', [], [aDenial('advertising')], 'denied'],
    ['an older refusal beats a newer grant', [aDenial('advertising', { at: T0 })], [aGrant('advertising', { at: T0 + HOUR })], 'denied'],
    [
      'a revocation beats a grant',
      [aGrant('advertising', { at: T0 }), aDenial('advertising', { at: T0 + HOUR })],
      [aGrant('advertising', { at: T0 + 2 * HOUR })],
      'revoked',
    ],
    ['two grants: still granted', [aGrant('advertising', { at: T0 })], [aGrant('advertising', { at: T0 + HOUR })], 'granted'],
  ];
  for (const [name, a, b, status] of scenarios) it(name, () => assert.equal(statusOf(a, b), status));

  it('keeps the later of two grants, with its proof', () => {
    const merged = mergeConsents(
      consentOf(aGrant('advertising', { at: T0, textVersion: 'v1' })),
      consentOf(aGrant('advertising', { at: T0 + HOUR, textVersion: 'v2' })),
    );
    assert.equal(purposeConsent(merged, 'advertising')?.proof.textVersion, 'v2');
  });

  it('concatenates histories in time order, a shared change once', () => {
    const shared = aGrant('analytics', { at: T0 + HOUR, eventMessageId: 'm1' });
    const merged = mergeConsents(
      consentOf(aDenial('advertising', { at: T0 + 2 * HOUR }), shared),
      consentOf(aGrant('advertising', { at: T0 }), shared),
    );
    assert.deepEqual(
      merged.history.map((c) => [c.purpose, c.proof.at]),
      [
        ['advertising', T0],
        ['analytics', T0 + HOUR],
        ['advertising', T0 + 2 * HOUR],
      ],
    );
  });

  const twoProfiles = fc
    .tuple(someChanges, someChanges)
    .map(([a, b]) => [applyConsentChanges(EMPTY_CONSENT, a), applyConsentChanges(EMPTY_CONSENT, b)] as const);

  it('never yields a grant unless every side that chose granted', () => {
    fc.assert(
      fc.property(twoProfiles, purposeIds, ([a, b], purpose) => {
        const merged = purposeConsent(mergeConsents(a, b), purpose);
        const sides = [purposeConsent(a, purpose), purposeConsent(b, purpose)].filter((s) => s !== undefined);
        assert.equal(merged?.status === 'granted', sides.length > 0 && sides.every((s) => s.status === 'granted'));
      }),
    );
  });

  it('is commutative', () => {
    fc.assert(fc.property(twoProfiles, ([a, b]) => assert.deepEqual(mergeConsents(a, b), mergeConsents(b, a))));
  });

  it('is associative, so merging three profiles in any grouping agrees', () => {
    fc.assert(
      fc.property(someChanges, someChanges, someChanges, (x, y, z) => {
        const [a, b, c] = [x, y, z].map((changes) => applyConsentChanges(EMPTY_CONSENT, changes)) as [
          typeof EMPTY_CONSENT,
          typeof EMPTY_CONSENT,
          typeof EMPTY_CONSENT,
        ];
        assert.deepEqual(mergeConsents(mergeConsents(a, b), c), mergeConsents(a, mergeConsents(b, c)));
      }),
    );
  });

  it('keeps every change of both sides', () => {
    fc.assert(
      fc.property(twoProfiles, ([a, b]) => {
        const merged = mergeConsents(a, b);
        const kept = new Set(merged.history.map(changeKey));
        for (const c of [...a.history, ...b.history]) assert.ok(kept.has(changeKey(c)));
      }),
    );
  });
});
