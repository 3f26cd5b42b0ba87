/**
 * Computed traits (Segment's kinds), as data, with a reference evaluator over a profile's history.
 *
 * Each trait reads the events that match `event` (name and/or type, plus an optional `.where` filter,
 * the same filter language as segments, funnels included) inside an optional window, as of `now`:
 * - event_counter: how many;
 * - aggregation: sum (0 when none), avg, min or max of a numeric property;
 * - most_frequent: the property's most frequent value, needing at least 2 occurrences; a tie goes to
 *   the smallest value (alphabetical for strings);
 * - first / last: the property's value in the earliest / latest event that has one;
 * - unique_list: the property's distinct values, sorted; unique_list_count: how many there are.
 * `undefined` means the trait has no value (it is unset, not null). Windows, event time and "not yet
 * happened" work exactly as for segments (see evaluate.ts).
 */
import Type, { type Static } from 'typebox';
import { EVENT_TYPES } from '../event/event.ts';
import { RULE_DEFS, WindowSchema, type Validated } from './definition.ts';
import type { ProfileEvent } from './profile.ts';
import { compiledCheck, schemaProblems } from './schema-problems.ts';
import { average, distinctPlain, extreme, mostFrequent, propertyValues, sum } from './reducers.ts';
import { IGNORE_MARKS, selectEvents } from './select.ts';

const closed = { additionalProperties: false } as const;

const common = {
  key: Type.String({ minLength: 1, description: 'The trait the value is written to.' }),
  event: Type.Object(
    {
      name: Type.Optional(Type.String()),
      type: Type.Optional(Type.Enum(EVENT_TYPES)),
      where: Type.Optional(Type.Ref('Filter')),
    },
    { ...closed, description: 'Which events count: name and/or type, and an optional filter.' },
  ),
  window: Type.Optional(WindowSchema),
};

export const COMPUTED_TRAIT_KINDS = [
  'event_counter',
  'aggregation',
  'most_frequent',
  'first',
  'last',
  'unique_list',
  'unique_list_count',
] as const;

export const ComputedTraitSchema = Type.Cyclic(
  {
    ...RULE_DEFS,
    ComputedTrait: Type.Union([
      Type.Object({ kind: Type.Literal('event_counter'), ...common }, closed),
      Type.Object(
        { kind: Type.Literal('aggregation'), fn: Type.Enum(['sum', 'avg', 'min', 'max']), property: Type.String(), ...common },
        closed,
      ),
      Type.Object(
        {
          kind: Type.Enum(['most_frequent', 'first', 'last', 'unique_list', 'unique_list_count']),
          property: Type.String(),
          ...common,
        },
        closed,
      ),
    ]),
  },
  'ComputedTrait',
  { description: 'A trait computed from the events of a profile.' },
);
const checkComputedTrait = compiledCheck(ComputedTraitSchema);
export type ComputedTraitDefinition = Static<typeof ComputedTraitSchema>;
export type ComputedTraitKind = ComputedTraitDefinition['kind'];

/** Check a computed trait definition received as JSON. */
export function validateComputedTrait(json: unknown): Validated<ComputedTraitDefinition> {
  if (!checkComputedTrait(json)) {
    return { ok: false, problems: schemaProblems(ComputedTraitSchema, json) };
  }
  if (json.event.name === undefined && json.event.type === undefined) {
    return { ok: false, problems: [{ path: '/event', message: 'an event filter needs an event name, a type, or both' }] };
  }
  return { ok: true, value: json };
}

/** The trait's value as of `now`, from the profile's whole history (in any order). */
export function computeTrait(def: ComputedTraitDefinition, events: readonly ProfileEvent[], now: number): unknown {
  const selected = selectEvents(def.event, def.window, def.event.where, undefined, { events, now, marks: IGNORE_MARKS }).events;
  switch (def.kind) {
    case 'event_counter':
      return selected.length;
    case 'aggregation': {
      const values = propertyValues(selected, def.property);
      if (def.fn === 'sum') return sum(values);
      if (def.fn === 'avg') return average(values);
      return extreme(values, def.fn);
    }
    case 'most_frequent':
      return mostFrequent(propertyValues(selected, def.property), 2);
    case 'first':
      return propertyValues(selected, def.property)[0];
    case 'last':
      return propertyValues(selected, def.property).at(-1);
    case 'unique_list':
      return distinctPlain(propertyValues(selected, def.property));
    case 'unique_list_count':
      return distinctPlain(propertyValues(selected, def.property)).length;
    default: {
      const _never: never = def;
      return _never;
    }
  }
}
