/** Segments and computed traits: rules as data, their text language, and the reference evaluators. */
export {
  ComparisonSchema,
  ConditionSchema,
  FilterSchema,
  referencedSegments,
  RULE_DEFS,
  SegmentDefinitionSchema,
  validateRule,
  validateSegmentDefinition,
  type Comparison,
  type Condition,
  type EventCondition,
  type Filter,
  type FunnelEventCondition,
  type FunnelWindow,
  type PropertyCondition,
  type Reducer,
  type RuleProblem,
  type Scalar,
  type SegmentDefinition,
  type TraitCondition,
  type Validated,
  type Window,
} from './definition.ts';
export { describeProblems } from './schema-problems.ts';
export { parseRule, type ParseError, type ParseResult } from './parser.ts';
export { printFilter, printRule } from './printer.ts';
export { evaluate, nextChangeAt } from './evaluate.ts';
export type { ProfileEvent, ProfileSnapshot } from './profile.ts';
export {
  COMPUTED_TRAIT_KINDS,
  ComputedTraitSchema,
  computeTrait,
  validateComputedTrait,
  type ComputedTraitDefinition,
  type ComputedTraitKind,
} from './computed-traits.ts';
export * from './engine/index.ts';
