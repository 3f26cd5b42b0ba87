/** The consent inbox's text form of the choices one event carried: shorter, and read back exactly. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeCarriedChanges, encodeCarriedChanges, type ConsentChange, type ConsentProof } from '../../../src/core/consent/index.ts';
import { aChange, purposeIds, someChanges } from './arbitraries.ts';
import { T0 } from './builders.ts';

const proof: ConsentProof = {
  source: 'event',
  sourceId: 'src',
  eventMessageId: 'ajs-next-1793404875008-00a794f4',
  at: T0,
  ip: '203.0.113.7',
  userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
};

/** What `consentChangesOf` makes: one proof object shared by every change of the event. */
const carried = fc
  .array(
    fc.record({
      purpose: purposeIds,
      choice: fc.constantFrom('granted' as const, 'denied' as const),
      expiresAt: fc.option(fc.integer({ min: T0, max: T0 + 1e9 }), { nil: undefined }),
      observed: fc.option(fc.constant(true as const), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map((choices) =>
    choices.map((c): ConsentChange => ({
      purpose: c.purpose,
      choice: c.choice,
      proof,
      ...(c.expiresAt !== undefined ? { expiresAt: c.expiresAt } : {}),
      ...(c.observed !== undefined ? { observed: c.observed } : {}),
    })),
  );

describe('carried consent in the inbox', () => {
  it('reads back exactly what an event carried, key order included, with the proof written once', () => {
    fc.assert(
      fc.property(carried, (changes) => {
        const text = encodeCarriedChanges(changes);
        assert.equal(JSON.stringify(decodeCarriedChanges(text)), JSON.stringify(changes));
        assert.equal(text.split('"userAgent"').length - 1, 1);
        if (changes.length > 1) assert.ok(text.length < JSON.stringify(changes).length);
      }),
    );
  });

  it('reads back changes with different proofs, and the plain array that earlier versions wrote', () => {
    fc.assert(
      fc.property(someChanges, aChange, (changes, other) => {
        const mixed = [...changes, { ...other, proof: { ...other.proof } }];
        assert.deepEqual(decodeCarriedChanges(encodeCarriedChanges(mixed)), mixed);
        assert.deepEqual(decodeCarriedChanges(JSON.stringify(mixed)), mixed);
      }),
    );
  });
});
