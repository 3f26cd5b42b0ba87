/**
 * fast-check generators of segment rules. One generator, two vocabularies: a wide one (any text, any
 * number) for parser round trips, and a narrow one (few event names, small windows) for semantic
 * properties, where rules must actually match the generated histories.
 */
import fc from 'fast-check';
import { EVENT_TYPES } from '../../../src/core/event/event.ts';
import type {
  Comparison,
  Condition,
  Filter,
  FunnelEventCondition,
  FunnelWindow,
  Reducer,
  Scalar,
} from '../../../src/core/segments/definition.ts';
import { parseInstant, TIME_UNITS, type TimeUnit } from '../../../src/core/segments/time.ts';

export interface Vocabulary {
  text: fc.Arbitrary<string>;
  eventNames: fc.Arbitrary<string>;
  eventTypes: fc.Arbitrary<(typeof EVENT_TYPES)[number]>;
  paths: fc.Arbitrary<string>;
  segmentIds: fc.Arbitrary<string>;
  numbers: fc.Arbitrary<number>;
  amounts: fc.Arbitrary<number>;
  units: fc.Arbitrary<TimeUnit>;
  dates: fc.Arbitrary<string>;
  maxDepth: number;
  /** Relative weights that steer generation towards rules whose answer depends on time. */
  weights: { event: number; count: number; numericComparison: number; parentWindow: number };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** ISO dates in every form the language accepts: date only, with time, with seconds/millis, with offsets. */
export const isoDate: fc.Arbitrary<string> = fc
  .record({
    y: fc.integer({ min: 1970, max: 2100 }),
    mo: fc.integer({ min: 1, max: 12 }),
    d: fc.integer({ min: 1, max: 28 }),
    time: fc.option(
      fc.record({
        h: fc.integer({ min: 0, max: 23 }),
        mi: fc.integer({ min: 0, max: 59 }),
        s: fc.option(fc.integer({ min: 0, max: 59 })),
        ms: fc.option(fc.integer({ min: 0, max: 999 })),
        zone: fc.constantFrom('', 'Z', '+02:00', '-05:30'),
      }),
    ),
  })
  .map(({ y, mo, d, time }) => {
    const date = `${y}-${pad(mo)}-${pad(d)}`;
    if (time === null) return date;
    const seconds = time.s === null ? '' : `:${pad(time.s)}${time.ms === null ? '' : `.${pad(time.ms, 3)}`}`;
    return `${date}T${pad(time.h)}:${pad(time.mi)}${seconds}${time.zone}`;
  });

export const wideVocabulary: Vocabulary = {
  text: fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.string({ unit: 'binary', maxLength: 6 }),
    fc.constantFrom("it's", 'a\\b', 'tab\there', 'AND', ''),
  ),
  eventNames: fc.oneof(fc.constantFrom('Order Completed', 'Product Added'), fc.string({ unit: 'binary', maxLength: 8 })),
  eventTypes: fc.constantFrom(...EVENT_TYPES),
  paths: fc.oneof(fc.constantFrom('total', 'address.city'), fc.string({ maxLength: 8 })),
  segmentIds: fc.string({ minLength: 1, maxLength: 10 }),
  numbers: fc.oneof(
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
  ),
  amounts: fc.integer({ min: 1, max: 100_000 }),
  units: fc.constantFrom(...TIME_UNITS),
  dates: isoDate,
  maxDepth: 3,
  weights: { event: 1, count: 1, numericComparison: 1, parentWindow: 1 },
};

function scalar(v: Vocabulary): fc.Arbitrary<Scalar> {
  return fc.oneof(v.text, v.numbers, fc.boolean(), fc.constant(null));
}

export function comparison(v: Vocabulary): fc.Arbitrary<Comparison> {
  return fc.oneof(
    fc.record({ op: fc.constantFrom('=', '!=', '>', '>=', '<', '<=' as const), value: scalar(v) }),
    fc.record({ op: fc.constantFrom('is_set', 'is_null' as const) }),
    fc.record({ op: fc.constantFrom('contains', 'omits', 'starts_with', 'ends_with' as const), value: v.text }),
    fc.record({ op: fc.constant('one_of' as const), values: fc.array(scalar(v), { minLength: 1, maxLength: 3 }) }),
    fc.record({ op: fc.constant('contains_one' as const), values: fc.array(v.text, { minLength: 1, maxLength: 3 }) }),
    fc.record({ op: fc.constantFrom('before_date', 'after_date' as const), date: v.dates }),
    fc.record({
      op: fc.constantFrom('within_last', 'before_last', 'within_next', 'after_next' as const),
      amount: v.amounts,
      unit: v.units,
    }),
  );
}

function reducer(v: Vocabulary): fc.Arbitrary<Reducer> {
  return fc.oneof(
    { arbitrary: fc.constant({ fn: 'count' as const }), weight: v.weights.count },
    fc.record({ fn: fc.constantFrom('sum', 'avg', 'min', 'max', 'unique', 'mode' as const), property: v.paths }),
    fc.record({ fn: fc.constantFrom('first', 'last' as const), property: v.paths }, { requiredKeys: ['fn'] }),
  );
}

function window(v: Vocabulary, funnel: boolean): fc.Arbitrary<FunnelWindow> {
  const between = fc
    .tuple(v.dates, v.dates)
    .filter(([a, b]) => (parseInstant(a) as number) !== (parseInstant(b) as number))
    .map(([a, b]) => ((parseInstant(a) as number) < (parseInstant(b) as number) ? [a, b] : [b, a]))
    .map(([start, end]) => ({ kind: 'between' as const, start: start as string, end: end as string }));
  const within = fc.record({ kind: fc.constant('within' as const), amount: v.amounts, unit: v.units });
  const parent = fc.record({ kind: fc.constant('parent' as const), amount: v.amounts, unit: v.units });
  return funnel ? fc.oneof({ arbitrary: parent, weight: v.weights.parentWindow }, within, between) : fc.oneof(within, between);
}

function eventCondition(v: Vocabulary, funnel: boolean, where: fc.Arbitrary<Filter>): fc.Arbitrary<FunnelEventCondition> {
  const match = fc.oneof(
    fc.record({ name: v.eventNames }),
    fc.record({ type: v.eventTypes }),
    fc.record({ name: v.eventNames, type: v.eventTypes }),
  );
  const rest = fc.record(
    {
      kind: fc.constant('event' as const),
      where,
      window: window(v, funnel),
      reducer: reducer(v),
      comparison: fc.oneof(
        {
          arbitrary: fc.record({ op: fc.constantFrom('=', '!=', '>', '>=', '<', '<=' as const), value: v.numbers }),
          weight: v.weights.numericComparison,
        },
        comparison(v),
      ),
    },
    { requiredKeys: ['kind', 'reducer', 'comparison'] },
  );
  return fc.tuple(match, rest).map(([m, r]) => ({ ...r, ...m }));
}

/** Rules over a vocabulary; `and`/`or` always have at least two operands, as the schema requires. */
export function rules(v: Vocabulary): fc.Arbitrary<Condition> {
  const { condition } = fc.letrec<{ condition: Condition; filter: Filter }>((tie) => ({
    condition: fc.oneof(
      { maxDepth: v.maxDepth, depthIdentifier: 'rule' },
      fc.record({ kind: fc.constant('trait' as const), path: v.paths, comparison: comparison(v) }),
      fc.record({ kind: fc.constant('segment' as const), id: v.segmentIds }),
      { arbitrary: eventCondition(v, false, tie('filter')) as fc.Arbitrary<Condition>, weight: v.weights.event },
      fc.record({ kind: fc.constant('and' as const), conditions: fc.array(tie('condition'), { minLength: 2, maxLength: 3 }) }),
      fc.record({ kind: fc.constant('or' as const), conditions: fc.array(tie('condition'), { minLength: 2, maxLength: 3 }) }),
      fc.record({ kind: fc.constant('not' as const), condition: tie('condition') }),
    ),
    filter: fc.oneof(
      { maxDepth: v.maxDepth, depthIdentifier: 'rule' },
      fc.record({ kind: fc.constant('property' as const), path: v.paths, comparison: comparison(v) }),
      { arbitrary: eventCondition(v, true, tie('filter')), weight: v.weights.event },
      fc.record({ kind: fc.constant('and' as const), conditions: fc.array(tie('filter'), { minLength: 2, maxLength: 3 }) }),
      fc.record({ kind: fc.constant('or' as const), conditions: fc.array(tie('filter'), { minLength: 2, maxLength: 3 }) }),
      fc.record({ kind: fc.constant('not' as const), condition: tie('filter') }),
    ),
  }));
  // fc.record may build objects without a prototype; rules arrive as plain JSON objects.
  return condition.map((tree) => structuredClone(tree));
}
