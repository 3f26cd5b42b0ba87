/**
 * What a rule reads, found by walking its tree once: the event names whose arrival can change it, the
 * trait paths it looks at, the segments it includes, and whether time alone can change it. The engine
 * indexes these so that one event re-evaluates only the rules it can affect.
 */
import type { Comparison, Condition, Filter, FunnelEventCondition } from '../definition.ts';

/** The inputs of one rule (a segment's, or a computed trait's event filter). */
export interface RuleReads {
  /** Names of events that can change the rule when they arrive (funnel steps inside `.where` included). */
  eventNames: Set<string>;
  /** Some event condition matches by type only, so an event of any name can change the rule. */
  anyEvent: boolean;
  /** Trait paths read by `trait(...)` conditions (computed traits are read this way too). */
  traitPaths: Set<string>;
  /** Segments read by `segment(...)` conditions. */
  segments: Set<string>;
  /** Time alone can change the answer: a sliding or parent window, or a relative date comparison. */
  timeDependent: boolean;
  /** Some part reads event properties (a property filter, or a reducer or computed trait over a property). */
  properties: boolean;
}

const RELATIVE = new Set<Comparison['op']>(['within_last', 'before_last', 'within_next', 'after_next']);

function emptyReads(): RuleReads {
  return { eventNames: new Set(), anyEvent: false, traitPaths: new Set(), segments: new Set(), timeDependent: false, properties: false };
}

/** Everything a segment rule reads. */
export function conditionReads(rule: Condition): RuleReads {
  const reads = emptyReads();
  visitCondition(rule, reads);
  return reads;
}

/** Everything an event selection reads (a computed trait's `event`, `window` and `.where`). */
export function selectionReads(
  match: { name?: string | undefined; where?: Filter | undefined },
  windowKind: string | undefined,
  readsProperty: boolean,
): RuleReads {
  const reads = emptyReads();
  reads.properties = readsProperty;
  noteEvent(match.name, reads);
  if (windowKind === 'within') reads.timeDependent = true;
  if (match.where !== undefined) visitFilter(match.where, reads);
  return reads;
}

/**
 * Can membership change with time alone, for a history whose events have all happened? Events stamped
 * in the future (clock skew) make every event condition change when they become visible; the engine
 * checks for those separately.
 */
export function isTimeDependent(rule: Condition): boolean {
  return conditionReads(rule).timeDependent;
}

function noteEvent(name: string | undefined, reads: RuleReads): void {
  if (name === undefined) reads.anyEvent = true;
  else reads.eventNames.add(name);
}

function noteComparison(c: Comparison, reads: RuleReads): void {
  if (RELATIVE.has(c.op)) reads.timeDependent = true;
}

function visitEvent(node: FunnelEventCondition, reads: RuleReads): void {
  noteEvent(node.name, reads);
  if ('property' in node.reducer && node.reducer.property !== undefined) reads.properties = true;
  // A parent window closing decides an absence; a sliding window drops events as time passes.
  if (node.window?.kind === 'within' || node.window?.kind === 'parent') reads.timeDependent = true;
  noteComparison(node.comparison, reads);
  if (node.where !== undefined) visitFilter(node.where, reads);
}

function visitCondition(node: Condition, reads: RuleReads): void {
  switch (node.kind) {
    case 'and':
    case 'or':
      for (const c of node.conditions) visitCondition(c, reads);
      return;
    case 'not':
      visitCondition(node.condition, reads);
      return;
    case 'trait':
      reads.traitPaths.add(node.path);
      noteComparison(node.comparison, reads);
      return;
    case 'event':
      visitEvent(node, reads);
      return;
    case 'segment':
      reads.segments.add(node.id);
      return;
    default: {
      const _never: never = node;
      return _never;
    }
  }
}

function visitFilter(node: Filter, reads: RuleReads): void {
  switch (node.kind) {
    case 'and':
    case 'or':
      for (const c of node.conditions) visitFilter(c, reads);
      return;
    case 'not':
      visitFilter(node.condition, reads);
      return;
    case 'property':
      reads.properties = true;
      noteComparison(node.comparison, reads);
      return;
    case 'event':
      visitEvent(node, reads);
      return;
    default: {
      const _never: never = node;
      return _never;
    }
  }
}

/**
 * Do two trait paths overlap? `valueAt` reads a key or a dotted path, so a change to `address` changes
 * what `address.city` reads, and a change to `address.city` changes what `address` reads.
 */
export function pathsOverlap(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
}
