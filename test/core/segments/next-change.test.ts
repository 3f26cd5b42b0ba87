/**
 * Properties of the reference evaluator over generated histories and rules:
 * - nextChangeAt(now) is exactly the next change: membership is the same at every instant of
 *   [now, nextChangeAt) and different at nextChangeAt (or the same forever when it is null);
 * - membership does not depend on the order of the history.
 * The probe instants are every instant at which something could plausibly happen (each event time and
 * date value, plus and minus every duration the rules can use, and one millisecond either side),
 * plus random ones.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Condition, Filter } from '../../../src/core/segments/definition.ts';
import type { ProfileEvent, ProfileSnapshot } from '../../../src/core/segments/profile.ts';
import { evaluate, nextChangeAt } from '../../../src/core/segments/evaluate.ts';
import { fastEvaluate, fastNextChangeAt } from '../../../src/core/segments/next-change-fast.ts';
import { printRule } from '../../../src/core/segments/printer.ts';
import { durationMs } from '../../../src/core/segments/time.ts';
import { rules, type Vocabulary } from './arbitraries.ts';
import { DAY, HOUR, MINUTE, T0 } from './builders.ts';

const SPAN = 10 * HOUR;
const iso = (t: number) => new Date(t).toISOString();
const instantNearT0 = fc.integer({ min: -SPAN, max: SPAN }).map((d) => T0 + d);
const roundInstantNearT0 = fc.integer({ min: -20, max: 20 }).map((k) => T0 + k * 30 * MINUTE);

/** Few names, small windows, dates near the histories: rules that really match generated profiles. */
const narrow: Vocabulary = {
  text: fc.constantFrom('x', 'y', ''),
  eventNames: fc.constantFrom('A', 'B', 'C'),
  eventTypes: fc.constantFrom('track', 'page'),
  paths: fc.constantFrom('v', 'd', 'missing'),
  segmentIds: fc.constantFrom('s1', 's2'),
  numbers: fc.integer({ min: 0, max: 4 }),
  amounts: fc.integer({ min: 1, max: 4 }),
  units: fc.constantFrom('minutes', 'hours', 'hours', 'hours'),
  dates: roundInstantNearT0.map(iso),
  maxDepth: 2,
  weights: { event: 6, count: 6, numericComparison: 6, parentWindow: 4 },
};

/**
 * Rules built to depend on time: counts over sliding windows, funnels and absences, relative dates.
 * The general generator (`narrow`) covers every node kind but mostly makes rules that never change.
 */
const timeRules: fc.Arbitrary<Condition> = (() => {
  const name = fc.constantFrom('A', 'B', 'C');
  const hours = fc.record({ amount: fc.integer({ min: 1, max: 4 }), unit: fc.constantFrom('hours', 'hours', 'minutes' as const) });
  const count = fc.record({ op: fc.constantFrom('>=', '>', '=', '<', '<=', '!=' as const), value: fc.integer({ min: 0, max: 2 }) });
  const relative = fc
    .tuple(fc.constantFrom('within_last', 'before_last', 'within_next', 'after_next' as const), hours)
    .map(([op, h]) => ({ op, ...h }));
  const property: fc.Arbitrary<Filter> = fc.oneof(
    fc.record({ kind: fc.constant('property' as const), path: fc.constant('v'), comparison: count }),
    fc.record({ kind: fc.constant('property' as const), path: fc.constant('d'), comparison: relative }),
  );
  const reducer = fc.oneof(
    { arbitrary: fc.constant({ fn: 'count' as const }), weight: 6 },
    fc.record({ fn: fc.constantFrom('sum', 'max', 'unique' as const), property: fc.constant('v') }),
    fc.record({ fn: fc.constantFrom('first', 'last' as const) }),
  );
  const comparison = (r: { fn: string }) => (r.fn === 'first' || r.fn === 'last' ? relative : count);
  const { condition } = fc.letrec<{ condition: Condition; filter: Filter }>((tie) => {
    const event = (funnel: boolean) =>
      fc
        .record(
          {
            name,
            where: tie('filter'),
            window: funnel
              ? fc.oneof(
                  hours.map((h) => ({ kind: 'parent' as const, ...h })),
                  hours.map((h) => ({ kind: 'within' as const, ...h })),
                )
              : hours.map((h) => ({ kind: 'within' as const, ...h })),
            reducer,
          },
          { requiredKeys: ['name', 'reducer'] },
        )
        .chain((e) => comparison(e.reducer).map((c) => ({ kind: 'event' as const, ...e, comparison: c })));
    return {
      condition: fc.oneof(
        { maxDepth: 2, depthIdentifier: 'time' },
        { arbitrary: event(false) as fc.Arbitrary<Condition>, weight: 6 },
        fc.record({ kind: fc.constant('trait' as const), path: fc.constant('d'), comparison: relative }),
        fc.record({ kind: fc.constant('segment' as const), id: fc.constantFrom('s1', 's2') }),
        fc.record({ kind: fc.constantFrom('and', 'or' as const), conditions: fc.array(tie('condition'), { minLength: 2, maxLength: 3 }) }),
        fc.record({ kind: fc.constant('not' as const), condition: tie('condition') }),
      ),
      filter: fc.oneof(
        { maxDepth: 2, depthIdentifier: 'time' },
        property,
        { arbitrary: event(true) as fc.Arbitrary<Filter>, weight: 3 },
        fc.record({ kind: fc.constantFrom('and', 'or' as const), conditions: fc.array(tie('filter'), { minLength: 2, maxLength: 3 }) }),
        fc.record({ kind: fc.constant('not' as const), condition: tie('filter') }),
      ),
    };
  });
  return condition.map((tree) => structuredClone(tree));
})();

const anEvent: fc.Arbitrary<ProfileEvent> = fc.record({
  name: fc.constantFrom('A', 'B', 'C'),
  type: fc.constantFrom('track', 'page'),
  timestamp: fc.oneof(instantNearT0, roundInstantNearT0),
  properties: fc.record(
    { v: fc.integer({ min: 0, max: 4 }), d: fc.oneof(instantNearT0, instantNearT0.map(iso)) },
    { requiredKeys: [], noNullPrototype: true },
  ),
});

const aSnapshot: fc.Arbitrary<ProfileSnapshot> = fc
  .record({
    traits: fc.record({ v: fc.integer({ min: 0, max: 4 }), d: instantNearT0.map(iso) }, { requiredKeys: [], noNullPrototype: true }),
    events: fc.array(anEvent, { maxLength: 10 }),
    segments: fc.subarray(['s1', 's2']),
  })
  .map(({ traits, events, segments }) => ({ traits, events, segments: new Set(segments) }));

const DURATIONS = [0, ...[1, 2, 3, 4].flatMap((n) => [durationMs(n, 'minutes'), durationMs(n, 'hours')])];

/** Instants worth probing: around every event time and date value, shifted by every possible duration. */
function probes(profile: ProfileSnapshot, now: number, until: number, random: number[]): number[] {
  const anchors = [now];
  for (const e of profile.events) {
    anchors.push(e.timestamp);
    const d = e.properties['d'];
    if (typeof d === 'number') anchors.push(d);
    if (typeof d === 'string') anchors.push(Date.parse(d));
  }
  if (typeof profile.traits['d'] === 'string') anchors.push(Date.parse(profile.traits['d']));
  for (let k = -20; k <= 20; k++) anchors.push(T0 + k * 30 * MINUTE);
  const out = new Set<number>(random.map((r) => now + r * (until - now)));
  for (const a of anchors) {
    for (const d of DURATIONS) for (const t of [a - d, a + d]) for (const e of [-1, 0, 1]) out.add(t + e);
  }
  return [...out].filter((t) => t >= now && t < until);
}

const GENERATORS: Array<[string, fc.Arbitrary<Condition>, number]> = [
  ['time-dependent rules', timeRules, 500],
  ['rules of every kind', rules(narrow), 200],
];

describe('nextChangeAt is the exact next change of membership', () => {
  for (const [label, generator, numRuns] of GENERATORS) {
    it(`${label}: membership is constant on [now, nextChangeAt) and differs at nextChangeAt`, () => {
      fc.assert(
        fc.property(
          generator,
          aSnapshot,
          instantNearT0,
          fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }),
          (r, profile, now, random) => {
            const member = evaluate(r, profile, now);
            const next = nextChangeAt(r, profile, now);
            const context = () => `${printRule(r)} at ${iso(now)}, next ${next === null ? 'never' : iso(next)}`;
            if (next !== null) {
              assert.ok(next > now, context());
              assert.notEqual(evaluate(r, profile, next), member, `no change at the reported instant: ${context()}`);
            }
            const until = next ?? now + 3 * DAY;
            for (const t of probes(profile, now, until, random)) {
              assert.equal(evaluate(r, profile, t), member, `changed at ${iso(t)} before the reported instant: ${context()}`);
            }
          },
        ),
        { numRuns },
      );
    });

    it(`${label}: following nextChangeAt from change to change predicts membership at every probe`, () => {
      fc.assert(
        fc.property(generator, aSnapshot, (r, profile) => {
          const start = T0 - 2 * SPAN;
          const initial = evaluate(r, profile, start);
          const changes: number[] = [];
          for (let next = nextChangeAt(r, profile, start); next !== null; next = nextChangeAt(r, profile, next)) {
            changes.push(next);
            assert.ok(changes.length < 1_000, 'membership cannot flip forever');
          }
          for (const t of probes(profile, start, T0 + 3 * DAY, [])) {
            const flips = changes.filter((c) => c <= t).length;
            assert.equal(evaluate(r, profile, t), flips % 2 === 0 ? initial : !initial, `at ${iso(t)}: ${printRule(r)}`);
          }
        }),
        { numRuns: Math.ceil(numRuns / 3) },
      );
    });
  }
});

/** Rules the one-pass `fastNextChangeAt` handles: counts over sliding windows, time-free filters, traits, segments. */
const countRules: fc.Arbitrary<Condition> = (() => {
  const hours = fc.record({ amount: fc.integer({ min: 1, max: 4 }), unit: fc.constantFrom('hours', 'hours', 'minutes' as const) });
  const count = fc.record({ op: fc.constantFrom('>=', '>', '=', '<', '<=', '!=' as const), value: fc.integer({ min: 0, max: 3 }) });
  const relative = fc
    .tuple(fc.constantFrom('within_last', 'before_last', 'within_next', 'after_next' as const), hours)
    .map(([op, h]) => ({ op, ...h }));
  const { condition } = fc.letrec<{ condition: Condition; filter: Filter }>((tie) => ({
    condition: fc.oneof(
      { maxDepth: 2, depthIdentifier: 'count' },
      {
        arbitrary: fc
          .record(
            {
              name: fc.constantFrom('A', 'B', 'C'),
              type: fc.constantFrom('track', 'page'),
              where: tie('filter'),
              window: hours.map((h) => ({ kind: 'within' as const, ...h })),
              comparison: count,
            },
            { requiredKeys: ['comparison'] },
          )
          .map((e) => ({ kind: 'event' as const, reducer: { fn: 'count' as const }, ...e })) as fc.Arbitrary<Condition>,
        weight: 6,
      },
      fc.record({ kind: fc.constant('trait' as const), path: fc.constantFrom('d', 'v'), comparison: fc.oneof(relative, count) }),
      fc.record({ kind: fc.constant('segment' as const), id: fc.constantFrom('s1', 's2') }),
      fc.record({ kind: fc.constantFrom('and', 'or' as const), conditions: fc.array(tie('condition'), { minLength: 2, maxLength: 3 }) }),
      fc.record({ kind: fc.constant('not' as const), condition: tie('condition') }),
    ),
    filter: fc.oneof(
      { maxDepth: 2, depthIdentifier: 'count' },
      fc.record({ kind: fc.constant('property' as const), path: fc.constant('v'), comparison: count }),
      fc.record({ kind: fc.constantFrom('and', 'or' as const), conditions: fc.array(tie('filter'), { minLength: 2, maxLength: 3 }) }),
      fc.record({ kind: fc.constant('not' as const), condition: tie('filter') }),
    ),
  }));
  return condition.map((tree) => structuredClone(tree));
})();

/**
 * Also the instants next to the ones where counts change: events at round instants enter and leave
 * windows of whole minutes and hours at round instants, so one millisecond either side of one is where
 * an off-by-one shows.
 */
const nowNearBoundaries = fc.oneof(
  instantNearT0,
  roundInstantNearT0,
  roundInstantNearT0.map((t) => t - 1),
  roundInstantNearT0.map((t) => t + 1),
);

describe('the one-pass evaluation and nextChangeAt the engine uses', () => {
  const cases: Array<[string, fc.Arbitrary<Condition>, number, boolean]> = [
    ['counts over sliding windows, time-free filters, traits and segments', countRules, 1000, true],
    ['time-dependent rules', timeRules, 300, false],
    ['rules of every kind', rules(narrow), 300, false],
  ];
  for (const [label, generator, numRuns, handledAll] of cases) {
    it(`${label}: membership and next change are the reference's${handledAll ? ', for every one' : ' whenever it answers'}`, () => {
      fc.assert(
        fc.property(generator, aSnapshot, nowNearBoundaries, (r, profile, now) => {
          const fast = fastNextChangeAt(r, profile, now);
          const member = fastEvaluate(r, profile, now);
          if (handledAll) assert.notEqual(fast, undefined, `not handled: ${printRule(r)}`);
          assert.equal(member === undefined, fast === undefined, 'both handle the same rules');
          if (fast !== undefined) assert.equal(fast, nextChangeAt(r, profile, now), `${printRule(r)} at ${iso(now)}`);
          if (member !== undefined) assert.equal(member, evaluate(r, profile, now), `membership: ${printRule(r)} at ${iso(now)}`);
        }),
        { numRuns },
      );
    });
  }
});

describe('membership does not depend on the order of the history', () => {
  it('the history as given and sorted by time (same-instant events keeping their order) agree', () => {
    fc.assert(
      fc.property(fc.oneof(timeRules, rules(narrow)), aSnapshot, instantNearT0, (r, profile, now) => {
        const sorted = profile.events
          .map((e, i) => ({ e, i }))
          .sort((a, b) => a.e.timestamp - b.e.timestamp || a.i - b.i)
          .map((x) => x.e);
        assert.equal(evaluate(r, { ...profile, events: sorted }, now), evaluate(r, profile, now));
        assert.equal(nextChangeAt(r, { ...profile, events: sorted }, now), nextChangeAt(r, profile, now));
      }),
      { numRuns: 300 },
    );
  });
});
