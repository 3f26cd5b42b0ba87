/**
 * The consent inbox's text form of the choices one event carried (shorter, and read back exactly), and
 * which of a batch's carried choices are worth an inbox row.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  applyConsentChanges,
  decodeCarriedChanges,
  EMPTY_CONSENT,
  encodeCarriedChanges,
  keepCarried,
  type ConsentChange,
  type ConsentProof,
} from '../../../src/core/consent/index.ts';
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

/** One event's banner state: observed choices with one proof, from one identifier set. */
const bannerEntry = fc
  .record({
    identifiers: fc.constantFrom(['anonymous_id:a1'], ['anonymous_id:a1', 'user_id:u1'], ['anonymous_id:a2']),
    banner: fc.constantFrom<Array<[string, 'granted' | 'denied']>>(
      [['analytics', 'granted']],
      [
        ['analytics', 'granted'],
        ['advertising', 'denied'],
      ],
      [['analytics', 'denied']],
    ),
    minute: fc.integer({ min: 0, max: 360 }),
    validHours: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
  })
  .map(({ identifiers, banner, minute, validHours }) => {
    const at = T0 + minute * 60_000;
    return {
      identifiers,
      changes: banner.map(([purpose, choice]): ConsentChange => ({
        purpose,
        choice,
        proof: { source: 'event', at },
        ...(choice === 'granted' && validHours !== undefined ? { expiresAt: at + validHours * 3_600_000 } : {}),
        observed: true,
      })),
    };
  });

describe('keepCarried', () => {
  const entry = (at: number, choice: 'granted' | 'denied' = 'granted', observed = true, identifiers = ['anonymous_id:a1']) => ({
    identifiers,
    changes: [{ purpose: 'analytics', choice, proof: { source: 'event' as const, at }, ...(observed ? { observed } : {}) }],
  });

  it('keeps the earliest and the latest of a repeated banner state, and every other entry', () => {
    const H = 3_600_000;
    assert.deepEqual(
      keepCarried([
        entry(T0 + 2 * H),
        entry(T0),
        entry(T0 + H),
        entry(T0 + 3 * H),
        entry(T0 + 2 * H, 'denied'),
        entry(T0 + 4 * H, 'granted', false),
        entry(T0 + 4 * H, 'granted', true, ['user_id:u1']),
      ]),
      [false, true, false, true, true, true, true],
    );
  });

  it('leaves every purpose in the same status as recording every entry, batch after batch', () => {
    // Everything meets in one profile (the worst case), with other changes (API, imports, explicit
    // choices) arriving among the entries, and the traffic cut into batches anywhere.
    const arrivals = fc.array(
      fc.oneof(
        { weight: 4, arbitrary: bannerEntry.map((e) => ({ entry: e })) },
        { weight: 1, arbitrary: aChange.map((c) => ({ other: c })) },
      ),
      { maxLength: 25 },
    );
    fc.assert(
      fc.property(arrivals, fc.array(fc.nat(25), { maxLength: 3 }), (traffic, cuts) => {
        const bounds = [0, ...[...new Set(cuts)].sort((x, y) => x - y), traffic.length];
        const kept = new Set<unknown>();
        for (let b = 0; b + 1 < bounds.length; b++) {
          const entries = traffic.slice(bounds[b], bounds[b + 1]).flatMap((a) => ('entry' in a ? [a.entry] : []));
          const keep = keepCarried(entries);
          entries.forEach((e, i) => keep[i] && kept.add(e));
        }
        const all = traffic.flatMap((a) => ('entry' in a ? a.entry.changes : [a.other]));
        const recorded = traffic.flatMap((a) => ('entry' in a ? (kept.has(a.entry) ? a.entry.changes : []) : [a.other]));
        const statuses = (changes: ConsentChange[]) =>
          Object.fromEntries(Object.entries(applyConsentChanges(EMPTY_CONSENT, changes).purposes).map(([p, c]) => [p, c.status]));
        assert.deepEqual(statuses(recorded), statuses(all));
      }),
      { numRuns: 3000 },
    );
  });
});
