/**
 * A segment rule as data. One TypeBox schema gives the TypeScript type, the runtime validation of rules
 * sent to the API, and their OpenAPI description; the text language (`parser.ts`) parses into the same
 * tree and `printer.ts` prints it back.
 *
 * Two trees share the `and` / `or` / `not` shapes:
 * - a `Condition` decides membership of a profile: traits, events, other segments;
 * - a `Filter` decides whether one event counts (`.where(...)`): its properties, and funnel conditions
 *   on other events, whose window may be relative to that event (`within(parent: 1 hours)`).
 */
import Type, { type Static } from 'typebox';
import { EVENT_TYPES } from '../event/event.ts';
import { compiledCheck, schemaProblems, type RuleProblem } from './schema-problems.ts';
import { ISO_INSTANT_PATTERN, parseInstant, TIME_UNITS } from './time.ts';

const closed = { additionalProperties: false } as const;

export const ScalarSchema = Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()], {
  description: 'A literal value: string, number, boolean or null.',
});
export type Scalar = Static<typeof ScalarSchema>;

const Unit = Type.Enum(TIME_UNITS, { description: 'Time unit. A day is 24 hours; there are no calendar months.' });
const Amount = Type.Integer({ minimum: 1, description: 'A positive whole number of units.' });
const IsoInstant = Type.String({
  pattern: ISO_INSTANT_PATTERN,
  description: 'An ISO-8601 date or date-time; without an offset it is UTC.',
});

export const EQUALITY_OPS = ['=', '!='] as const;
export const ORDER_OPS = ['>', '>=', '<', '<='] as const;
export const PRESENCE_OPS = ['is_set', 'is_null'] as const;
export const TEXT_OPS = ['contains', 'omits', 'starts_with', 'ends_with'] as const;
export const DATE_OPS = ['before_date', 'after_date'] as const;
export const RELATIVE_OPS = ['within_last', 'before_last', 'within_next', 'after_next'] as const;

export const ComparisonSchema = Type.Union(
  [
    Type.Object({ op: Type.Enum([...EQUALITY_OPS, ...ORDER_OPS]), value: ScalarSchema }, closed),
    Type.Object({ op: Type.Enum(PRESENCE_OPS) }, closed),
    Type.Object({ op: Type.Enum(TEXT_OPS), value: Type.String() }, closed),
    Type.Object({ op: Type.Literal('one_of'), values: Type.Array(ScalarSchema, { minItems: 1 }) }, closed),
    Type.Object({ op: Type.Literal('contains_one'), values: Type.Array(Type.String(), { minItems: 1 }) }, closed),
    Type.Object({ op: Type.Enum(DATE_OPS), date: IsoInstant }, closed),
    Type.Object({ op: Type.Enum(RELATIVE_OPS), amount: Amount, unit: Unit }, closed),
  ],
  { description: 'A comparator and its operand(s), applied to a trait, a property or a reduced value.' },
);
export type Comparison = Static<typeof ComparisonSchema>;
export type ComparisonOp = Comparison['op'];

const WithinWindow = Type.Object(
  { kind: Type.Literal('within'), amount: Amount, unit: Unit },
  {
    ...closed,
    description: 'Events with now - amount < timestamp <= now.',
  },
);
const BetweenWindow = Type.Object(
  { kind: Type.Literal('between'), start: IsoInstant, end: IsoInstant },
  {
    ...closed,
    description: 'Events with start <= timestamp < end.',
  },
);
const ParentWindow = Type.Object(
  { kind: Type.Literal('parent'), amount: Amount, unit: Unit },
  {
    ...closed,
    description: 'Funnel only: events with parent < timestamp <= parent + amount.',
  },
);
export const WindowSchema = Type.Union([WithinWindow, BetweenWindow]);
export const FunnelWindowSchema = Type.Union([WithinWindow, BetweenWindow, ParentWindow]);
export type Window = Static<typeof WindowSchema>;
export type FunnelWindow = Static<typeof FunnelWindowSchema>;

export const ReducerSchema = Type.Union(
  [
    Type.Object({ fn: Type.Literal('count') }, closed),
    Type.Object({ fn: Type.Enum(['sum', 'avg', 'min', 'max', 'unique', 'mode']), property: Type.String() }, closed),
    Type.Object({ fn: Type.Enum(['first', 'last']), property: Type.Optional(Type.String()) }, closed),
  ],
  { description: 'How the matching events become one value. first()/last() without a property give the event time.' },
);
export type Reducer = Static<typeof ReducerSchema>;
export type ReducerFn = Reducer['fn'];

const EventType = Type.Enum(EVENT_TYPES);

/** The fields of an event condition; `window` differs between top-level and funnel conditions. */
function eventCondition<W extends typeof WindowSchema | typeof FunnelWindowSchema>(window: W) {
  return Type.Object(
    {
      kind: Type.Literal('event'),
      name: Type.Optional(Type.String({ description: 'Event name (`event` of a track, `name` of a page/screen).' })),
      type: Type.Optional(EventType),
      where: Type.Optional(Type.Ref('Filter')),
      window: Type.Optional(window),
      reducer: ReducerSchema,
      comparison: ComparisonSchema,
    },
    { ...closed, description: 'Matching events, filtered, windowed, reduced to one value and compared.' },
  );
}

function logical<R extends string>(ref: R) {
  return {
    and: Type.Object({ kind: Type.Literal('and'), conditions: Type.Array(Type.Ref(ref), { minItems: 2 }) }, closed),
    or: Type.Object({ kind: Type.Literal('or'), conditions: Type.Array(Type.Ref(ref), { minItems: 2 }) }, closed),
    not: Type.Object({ kind: Type.Literal('not'), condition: Type.Ref(ref) }, closed),
  };
}

const conditionLogic = logical('Condition');
const filterLogic = logical('Filter');

/** The definitions, shared by every schema that embeds a rule or a filter (computed traits do). */
export const RULE_DEFS = {
  Condition: Type.Union([
    conditionLogic.and,
    conditionLogic.or,
    conditionLogic.not,
    Type.Object({ kind: Type.Literal('trait'), path: Type.String(), comparison: ComparisonSchema }, closed),
    Type.Ref('EventCondition'),
    Type.Object({ kind: Type.Literal('segment'), id: Type.String({ minLength: 1 }) }, closed),
  ]),
  Filter: Type.Union([
    filterLogic.and,
    filterLogic.or,
    filterLogic.not,
    Type.Object({ kind: Type.Literal('property'), path: Type.String(), comparison: ComparisonSchema }, closed),
    Type.Ref('FunnelEventCondition'),
  ]),
  EventCondition: eventCondition(WindowSchema),
  FunnelEventCondition: eventCondition(FunnelWindowSchema),
};

export const ConditionSchema = Type.Cyclic(RULE_DEFS, 'Condition', { description: 'A segment rule.' });
const isCondition = compiledCheck(ConditionSchema);
export const FilterSchema = Type.Cyclic(RULE_DEFS, 'Filter', { description: 'A per-event filter (`.where`).' });

export type Condition = Static<typeof ConditionSchema>;
export type Filter = Static<typeof FilterSchema>;
export type EventCondition = Extract<Condition, { kind: 'event' }>;
export type FunnelEventCondition = Extract<Filter, { kind: 'event' }>;
export type TraitCondition = Extract<Condition, { kind: 'trait' }>;
export type PropertyCondition = Extract<Filter, { kind: 'property' }>;

export const SegmentDefinitionSchema = Type.Object(
  {
    id: Type.String({ minLength: 1 }),
    name: Type.String({ minLength: 1 }),
    description: Type.Optional(Type.String()),
    rule: ConditionSchema,
  },
  { ...closed, description: 'A named segment and its rule.' },
);
const checkSegmentDefinition = compiledCheck(SegmentDefinitionSchema);
export type SegmentDefinition = Static<typeof SegmentDefinitionSchema>;

export type { RuleProblem } from './schema-problems.ts';
export type Validated<T> = { ok: true; value: T } | { ok: false; problems: RuleProblem[] };

/** Check a rule received as JSON: the schema first, then what a schema cannot say. */
export function validateRule(json: unknown): Validated<Condition> {
  if (!isCondition(json)) return { ok: false, problems: schemaProblems(ConditionSchema, json) };
  const problems: RuleProblem[] = [];
  checkCondition(json, '', problems);
  return problems.length === 0 ? { ok: true, value: json } : { ok: false, problems };
}

/** Check a segment definition received as JSON; a rule may not include its own segment. */
export function validateSegmentDefinition(json: unknown): Validated<SegmentDefinition> {
  if (!checkSegmentDefinition(json)) {
    return { ok: false, problems: schemaProblems(SegmentDefinitionSchema, json) };
  }
  const problems: RuleProblem[] = [];
  checkCondition(json.rule, '/rule', problems);
  if (referencedSegments(json.rule).includes(json.id)) {
    problems.push({ path: '/rule', message: `the rule refers to its own segment '${json.id}'` });
  }
  return problems.length === 0 ? { ok: true, value: json } : { ok: false, problems };
}

/** Ids of the segments a rule depends on, in order of first mention. */
export function referencedSegments(rule: Condition): string[] {
  const ids = new Set<string>();
  const visit = (node: Condition): void => {
    switch (node.kind) {
      case 'and':
      case 'or':
        node.conditions.forEach(visit);
        return;
      case 'not':
        visit(node.condition);
        return;
      case 'segment':
        ids.add(node.id);
        return;
      case 'trait':
      case 'event':
        return;
      default: {
        const _never: never = node;
        return _never;
      }
    }
  };
  visit(rule);
  return [...ids];
}

function checkCondition(node: Condition, path: string, out: RuleProblem[]): void {
  switch (node.kind) {
    case 'and':
    case 'or':
      node.conditions.forEach((c, i) => checkCondition(c, `${path}/conditions/${i}`, out));
      return;
    case 'not':
      checkCondition(node.condition, `${path}/condition`, out);
      return;
    case 'trait':
      checkComparison(node.comparison, `${path}/comparison`, out);
      return;
    case 'event':
      checkEvent(node, path, out);
      return;
    case 'segment':
      return;
    default: {
      const _never: never = node;
      return _never;
    }
  }
}

function checkFilter(node: Filter, path: string, out: RuleProblem[]): void {
  switch (node.kind) {
    case 'and':
    case 'or':
      node.conditions.forEach((c, i) => checkFilter(c, `${path}/conditions/${i}`, out));
      return;
    case 'not':
      checkFilter(node.condition, `${path}/condition`, out);
      return;
    case 'property':
      checkComparison(node.comparison, `${path}/comparison`, out);
      return;
    case 'event':
      checkEvent(node, path, out);
      return;
    default: {
      const _never: never = node;
      return _never;
    }
  }
}

function checkEvent(node: FunnelEventCondition, path: string, out: RuleProblem[]): void {
  if (node.name === undefined && node.type === undefined) {
    out.push({ path, message: 'an event condition needs an event name, a type, or both' });
  }
  if (node.window?.kind === 'between') {
    const start = parseInstant(node.window.start);
    const end = parseInstant(node.window.end);
    if (start === undefined) out.push({ path: `${path}/window/start`, message: 'not a valid date' });
    if (end === undefined) out.push({ path: `${path}/window/end`, message: 'not a valid date' });
    if (start !== undefined && end !== undefined && end <= start) {
      out.push({ path: `${path}/window`, message: 'the window must end after it starts' });
    }
  }
  if (node.where) checkFilter(node.where, `${path}/where`, out);
  checkComparison(node.comparison, `${path}/comparison`, out);
}

function checkComparison(c: Comparison, path: string, out: RuleProblem[]): void {
  if ((c.op === 'before_date' || c.op === 'after_date') && parseInstant(c.date) === undefined) {
    out.push({ path: `${path}/date`, message: 'not a valid date' });
  }
}
