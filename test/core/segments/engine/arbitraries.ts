/**
 * Generators for the engine's property test: audience sets (segments that include each other without
 * cycles, computed traits that segments read) and streams of what happens to profiles: events (late
 * ones and future-stamped ones included), trait updates, merges and clock advances.
 */
import fc from 'fast-check';
import type { Comparison, Condition, Filter } from '../../../../src/core/segments/definition.ts';
import type { ComputedTraitDefinition } from '../../../../src/core/segments/computed-traits.ts';
import { rules, type Vocabulary } from '../arbitraries.ts';
import { HOUR, MINUTE, T0 } from '../builders.ts';

export const SEGMENT_IDS = ['s1', 's2', 's3'] as const;
export const TRAIT_KEYS = ['c1', 'c2'] as const;

const iso = (t: number) => new Date(t).toISOString();
const roundNearT0 = fc.integer({ min: -20, max: 40 }).map((k) => T0 + k * 30 * MINUTE);
const name = fc.constantFrom('A', 'B', 'C');
const span = fc.record({ amount: fc.integer({ min: 1, max: 4 }), unit: fc.constantFrom('hours', 'hours', 'minutes' as const) });
const count = fc.record({ op: fc.constantFrom('>=', '>', '=', '<', '<=', '!=' as const), value: fc.integer({ min: 0, max: 3 }) });
const relative: fc.Arbitrary<Comparison> = fc
  .tuple(fc.constantFrom('within_last', 'before_last', 'within_next', 'after_next' as const), span)
  .map(([op, s]) => ({ op, ...s }));

/** The existing generator, narrowed to what these histories contain; computed trait keys are trait paths. */
const narrow: Vocabulary = {
  text: fc.constantFrom('x', 'y', ''),
  eventNames: name,
  eventTypes: fc.constantFrom('track', 'page'),
  paths: fc.constantFrom('v', 'd', 'c1', 'c2', 'missing'),
  segmentIds: fc.constantFrom(...SEGMENT_IDS),
  numbers: fc.integer({ min: 0, max: 4 }),
  amounts: fc.integer({ min: 1, max: 4 }),
  units: fc.constantFrom('minutes', 'hours', 'hours', 'hours'),
  dates: roundNearT0.map(iso),
  maxDepth: 2,
  weights: { event: 6, count: 6, numericComparison: 6, parentWindow: 4 },
};

/** Rules built to change with time: sliding windows, funnels and absences, relative dates, computed traits. */
const timeRules: fc.Arbitrary<Condition> = (() => {
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
                  span.map((s) => ({ kind: 'parent' as const, ...s })),
                  span.map((s) => ({ kind: 'within' as const, ...s })),
                )
              : span.map((s) => ({ kind: 'within' as const, ...s })),
            reducer,
          },
          { requiredKeys: ['name', 'reducer'] },
        )
        .chain((e) => comparison(e.reducer).map((c) => ({ kind: 'event' as const, ...e, comparison: c })));
    return {
      condition: fc.oneof(
        { maxDepth: 2, depthIdentifier: 'time' },
        { arbitrary: event(false) as fc.Arbitrary<Condition>, weight: 5 },
        fc.record({ kind: fc.constant('trait' as const), path: fc.constant('d'), comparison: relative }),
        fc.record({ kind: fc.constant('trait' as const), path: fc.constantFrom(...TRAIT_KEYS), comparison: count }),
        fc.record({ kind: fc.constant('segment' as const), id: fc.constantFrom(...SEGMENT_IDS) }),
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

/** The everyday shapes, which change with time most often: windowed counts, abandonment, relative dates. */
const usualCount = fc.oneof(
  fc.constantFrom({ op: '>=' as const, value: 1 }, { op: '>=' as const, value: 2 }, { op: '=' as const, value: 0 }),
  count,
);
const everydayRules: fc.Arbitrary<Condition> = fc.oneof(
  fc
    .tuple(name, span, usualCount)
    .map(([n, w, c]): Condition => ({ kind: 'event', name: n, window: { kind: 'within', ...w }, reducer: { fn: 'count' }, comparison: c })),
  fc.tuple(name, name, span, span).map(([added, bought, parent, w]): Condition => ({
    kind: 'event',
    name: added,
    where: {
      kind: 'event',
      name: bought,
      window: { kind: 'parent', ...parent },
      reducer: { fn: 'count' },
      comparison: { op: '=', value: 0 },
    },
    window: { kind: 'within', ...w },
    reducer: { fn: 'count' },
    comparison: { op: '>=', value: 1 },
  })),
  relative.map((c): Condition => ({ kind: 'trait', path: 'd', comparison: c })),
  fc.tuple(fc.constantFrom(...TRAIT_KEYS), count).map(([key, c]): Condition => ({ kind: 'trait', path: key, comparison: c })),
);

/** A segment may include only segments ranked before it; other references become a trait test. */
function withoutCycles(node: Condition, allowed: ReadonlySet<string>): Condition {
  switch (node.kind) {
    case 'and':
    case 'or':
      return { ...node, conditions: node.conditions.map((c) => withoutCycles(c, allowed)) };
    case 'not':
      return { ...node, condition: withoutCycles(node.condition, allowed) };
    case 'segment':
      return allowed.has(node.id) ? node : { kind: 'trait', path: 'v', comparison: { op: '>=', value: 2 } };
    default:
      return node;
  }
}

/** How a segment builds on one ranked before it (segment-of-segment), if it does. */
const link = fc.record({ how: fc.constantFrom('none', 'and', 'or', 'and not'), target: fc.nat() });

/** Three segments, listed in an order unrelated to their dependency order. */
export const segmentSets: fc.Arbitrary<Array<{ id: string; rule: Condition }>> = fc
  .record({
    rules: fc.array(fc.oneof({ arbitrary: everydayRules, weight: 3 }, { arbitrary: timeRules, weight: 2 }, rules(narrow)), {
      minLength: 3,
      maxLength: 3,
    }),
    links: fc.array(link, { minLength: 3, maxLength: 3 }),
    rank: fc.shuffledSubarray([...SEGMENT_IDS], { minLength: 3, maxLength: 3 }),
    listed: fc.shuffledSubarray([0, 1, 2], { minLength: 3, maxLength: 3 }),
  })
  .map(({ rules: rs, links, rank, listed }) => {
    const segments = rank.map((id, i) => {
      const rule = withoutCycles(rs[i] as Condition, new Set(rank.slice(0, i)));
      const { how, target } = links[i] as { how: string; target: number };
      if (i === 0 || how === 'none') return { id, rule };
      const ref: Condition = { kind: 'segment', id: rank[target % i] as string };
      const linked: Condition =
        how === 'or'
          ? { kind: 'or', conditions: [ref, rule] }
          : { kind: 'and', conditions: [how === 'and' ? ref : { kind: 'not', condition: ref }, rule] };
      return { id, rule: linked };
    });
    return listed.map((i) => segments[i] as { id: string; rule: Condition });
  });

const traitFilter: fc.Arbitrary<Filter> = fc.oneof(
  fc.record({ kind: fc.constant('property' as const), path: fc.constant('v'), comparison: count }),
  fc.record({ kind: fc.constant('property' as const), path: fc.constant('d'), comparison: relative }),
  fc.tuple(name, span).map(([n, s]): Filter => ({
    kind: 'event',
    name: n,
    window: { kind: 'parent', ...s },
    reducer: { fn: 'count' },
    comparison: { op: '=', value: 0 },
  })),
);

/** Up to two computed traits, written to `c1` and `c2`. */
export const computedTraitSets: fc.Arbitrary<Array<{ id: string; definition: ComputedTraitDefinition }>> = fc
  .array(
    fc.record(
      {
        shape: fc.oneof(
          fc.constant({ kind: 'event_counter' as const }),
          fc.record({ kind: fc.constant('aggregation' as const), fn: fc.constantFrom('sum', 'max' as const), property: fc.constant('v') }),
          fc.record({
            kind: fc.constantFrom('last', 'most_frequent', 'unique_list', 'unique_list_count' as const),
            property: fc.constant('v'),
          }),
        ),
        event: fc.oneof(fc.record({ name }), fc.constant({ type: 'page' as const })),
        where: traitFilter,
        window: span.map((s) => ({ kind: 'within' as const, ...s })),
      },
      { requiredKeys: ['shape', 'event'] },
    ),
    { maxLength: 2 },
  )
  .map((traits) =>
    traits.map(({ shape, event, where, window }, i) => {
      const key = TRAIT_KEYS[i] as string;
      const definition = { key, ...shape, event: where ? { ...event, where } : event, ...(window ? { window } : {}) };
      return { id: `trait-${key}`, definition: structuredClone(definition) as ComputedTraitDefinition };
    }),
  );

export type Step =
  | { kind: 'event'; profile: string; name: string; type: 'track' | 'page'; offset: number; properties: Record<string, unknown> }
  | { kind: 'identify'; profile: string; traits: Record<string, unknown>; dOffset: number | null }
  | { kind: 'advance'; ms: number }
  | { kind: 'merge' };

const profile = fc.constantFrom('p1', 'p1', 'p2');
/** Mostly on time, often late (up to 6 hours), sometimes stamped a little in the future (clock skew). */
const arrivalOffset = fc.oneof(
  { arbitrary: fc.constant(0), weight: 3 },
  { arbitrary: fc.integer({ min: -6 * HOUR, max: 0 }), weight: 2 },
  { arbitrary: fc.integer({ min: -12, max: 0 }).map((k) => k * 30 * MINUTE), weight: 2 },
  { arbitrary: fc.integer({ min: 1, max: 30 * MINUTE }), weight: 1 },
);
const dOffset = fc.oneof(
  fc.integer({ min: -5 * HOUR, max: 5 * HOUR }),
  fc.integer({ min: -10, max: 10 }).map((k) => k * 30 * MINUTE),
);

export const steps: fc.Arbitrary<Step[]> = fc.array(
  fc.oneof(
    {
      arbitrary: fc.record({
        kind: fc.constant('event' as const),
        profile,
        name: fc.constantFrom('A', 'B', 'C', 'D'),
        type: fc.constantFrom('track', 'page' as const),
        offset: arrivalOffset,
        properties: fc.record({ v: fc.integer({ min: 0, max: 4 }), d: dOffset }, { requiredKeys: [], noNullPrototype: true }),
      }),
      weight: 6,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant('identify' as const),
        profile,
        traits: fc.record(
          { v: fc.integer({ min: 0, max: 4 }), c1: fc.integer({ min: 0, max: 3 }) },
          { requiredKeys: [], noNullPrototype: true },
        ),
        dOffset: fc.option(dOffset),
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant('advance' as const),
        ms: fc.oneof(
          fc.integer({ min: 1, max: 4 * HOUR }),
          fc.integer({ min: 1, max: 8 }).map((k) => k * 30 * MINUTE),
        ),
      }),
      weight: 4,
    },
    { arbitrary: fc.constant({ kind: 'merge' as const }), weight: 1 },
  ),
  { minLength: 4, maxLength: 30 },
);
