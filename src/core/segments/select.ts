/**
 * Which events count for an event condition, as of `now`: matching name/type, already happened, inside
 * the window, and passing the `.where` filter. Funnel conditions inside a filter are evaluated here too,
 * relative to the event being filtered (the parent).
 *
 * While evaluating, every instant at which the answer could change as time passes (an event becoming
 * visible, leaving a window, a funnel window closing, a relative date passing) is reported to
 * `ctx.mark`; that is how `nextChangeAt` finds the moments worth re-evaluating.
 */
import type { Filter, FunnelEventCondition, FunnelWindow, Reducer, Comparison } from './definition.ts';
import { compare, comparisonChangeTimes } from './compare.ts';
import { valueAt, type ProfileEvent } from './profile.ts';
import { reduce } from './reducers.ts';
import { durationMs, parseInstant } from './time.ts';

/** Kleene truth for filters: `undefined` means "not decided yet" (a funnel window is still open). */
export type Truth = boolean | undefined;

export interface EvalContext {
  /** The profile's whole history, in any order. */
  events: readonly ProfileEvent[];
  now: number;
  /** Told every instant at which what was just evaluated may change with no new event. */
  marks: Marks;
}

/**
 * Where evaluation reports change instants. An object with a method rather than a closure: closures
 * made per evaluation were a measurable share of the runner's time.
 */
export interface Marks {
  mark(instant: number): void;
}

/** For evaluations that do not need the instants. */
export const IGNORE_MARKS: Marks = { mark() {} };

/** Keeps the earliest instant after `after`. */
export class EarliestAfter implements Marks {
  earliest: number | null = null;
  constructor(private readonly after: number) {}
  mark(instant: number): void {
    if (instant > this.after && (this.earliest === null || instant < this.earliest)) this.earliest = instant;
  }
}

export interface EventMatch {
  name?: string;
  type?: string;
}

export interface Selection {
  events: ProfileEvent[];
  /** More events may still count: a parent window is open, or some event's filter is not decided yet. */
  incomplete: boolean;
}

function matches(match: EventMatch, e: ProfileEvent): boolean {
  return (match.name === undefined || e.name === match.name) && (match.type === undefined || e.type === match.type);
}

/**
 * A history's events by name, built once per history (most conditions name their event, and a profile is
 * evaluated for many conditions over the same history), remembered by the array itself and its length:
 * a history that grows by appending (the tests' reference profiles do) is indexed again.
 */
const BY_NAME = new WeakMap<readonly ProfileEvent[], { length: number; index: Map<string | null, ProfileEvent[]> }>();

/** The events that can match a condition naming `name` (all of them when it names none). */
export function candidates(events: readonly ProfileEvent[], name: string | undefined): readonly ProfileEvent[] {
  if (name === undefined || events.length < 8) return events;
  let memo = BY_NAME.get(events);
  if (memo === undefined || memo.length !== events.length) {
    const index = new Map<string | null, ProfileEvent[]>();
    for (const e of events) {
      const list = index.get(e.name);
      if (list === undefined) index.set(e.name, [e]);
      else list.push(e);
    }
    memo = { length: events.length, index };
    BY_NAME.set(events, memo);
  }
  return memo.index.get(name) ?? [];
}

/** `windowMs`: the window's length when it is `within` (computed once per selection, not per event). */
function inWindow(
  e: ProfileEvent,
  window: FunnelWindow | undefined,
  windowMs: number,
  parent: ProfileEvent | undefined,
  ctx: EvalContext,
): boolean {
  if (window === undefined) return true;
  switch (window.kind) {
    case 'within': {
      const leavesAt = e.timestamp + windowMs;
      if (ctx.now >= leavesAt) return false;
      ctx.marks.mark(leavesAt);
      return true;
    }
    case 'between': {
      const start = parseInstant(window.start);
      const end = parseInstant(window.end);
      return start !== undefined && end !== undefined && start <= e.timestamp && e.timestamp < end;
    }
    case 'parent': {
      if (parent === undefined) throw new Error('a parent window outside a funnel: the schema should have refused it');
      return parent.timestamp < e.timestamp && e.timestamp <= parent.timestamp + durationMs(window.amount, window.unit);
    }
    default: {
      const _never: never = window;
      return _never;
    }
  }
}

/** The events that count as of `ctx.now`. Events whose filter is still undecided do not count (yet). */
export function selectEvents(
  match: EventMatch,
  window: FunnelWindow | undefined,
  where: Filter | undefined,
  parent: ProfileEvent | undefined,
  ctx: EvalContext,
): Selection {
  let incomplete = false;
  if (window?.kind === 'parent' && parent !== undefined) {
    const closesAt = parent.timestamp + durationMs(window.amount, window.unit);
    if (ctx.now < closesAt) {
      incomplete = true;
      ctx.marks.mark(closesAt);
    }
  }
  const selected: ProfileEvent[] = [];
  const windowMs = window?.kind === 'within' ? durationMs(window.amount, window.unit) : 0;
  for (const e of candidates(ctx.events, match.name)) {
    if (!matches(match, e)) continue;
    if (e.timestamp > ctx.now) {
      ctx.marks.mark(e.timestamp);
      continue;
    }
    if (!inWindow(e, window, windowMs, parent, ctx)) continue;
    if (where !== undefined) {
      const passes = evaluateFilter(where, e, ctx);
      if (passes === undefined) incomplete = true;
      if (passes !== true) continue;
    }
    selected.push(e);
  }
  return { events: selected, incomplete };
}

export interface EventOutcome {
  /** The comparison over the events that count as of now. */
  result: boolean;
  /** The result may still change as more events come to count, so a filter must not rely on it yet. */
  pending: boolean;
}

/** Evaluate an event condition; `parent` is the event being filtered when this is a funnel step. */
export function evaluateEvent(node: FunnelEventCondition, parent: ProfileEvent | undefined, ctx: EvalContext): EventOutcome {
  const selection = selectEvents(node, node.window, node.where, parent, ctx);
  const value = reduce(node.reducer, selection.events);
  for (const t of comparisonChangeTimes(value, node.comparison)) ctx.marks.mark(t);
  const result = value !== undefined && compare(value, node.comparison, ctx.now);
  const pending = selection.incomplete && !settledEarly(node.reducer, node.comparison, value, result);
  return { result, pending };
}

/**
 * Can more events no longer change the result? Only counts are analysed: a count can only grow, so
 * `count() >= 1` that holds stays true and `count() = 0` that fails stays false. Anything else waits
 * for the window to close.
 */
function settledEarly(reducer: Reducer, c: Comparison, value: unknown, result: boolean): boolean {
  if (reducer.fn !== 'count' || typeof value !== 'number') return false;
  switch (c.op) {
    case 'is_set':
    case 'is_null':
      return true;
    case '>':
    case '>=':
      return result;
    case '=':
    case '!=':
    case '<':
    case '<=':
      // A count beyond the bound compares the same way for every larger count.
      if (typeof c.value !== 'number') return true;
      return c.op === '<' ? value >= c.value : value > c.value;
    case 'one_of':
      return !result && !c.values.some((v) => typeof v === 'number' && v > value);
    default:
      return false;
  }
}

/** Does one event pass a `.where` filter? Kleene logic: undecided parts make the whole undecided only if they matter. */
export function evaluateFilter(node: Filter, event: ProfileEvent, ctx: EvalContext): Truth {
  switch (node.kind) {
    case 'and': {
      const parts = node.conditions.map((c) => evaluateFilter(c, event, ctx));
      return parts.includes(false) ? false : parts.includes(undefined) ? undefined : true;
    }
    case 'or': {
      const parts = node.conditions.map((c) => evaluateFilter(c, event, ctx));
      return parts.includes(true) ? true : parts.includes(undefined) ? undefined : false;
    }
    case 'not': {
      const inner = evaluateFilter(node.condition, event, ctx);
      return inner === undefined ? undefined : !inner;
    }
    case 'property': {
      const value = valueAt(event.properties, node.path);
      for (const t of comparisonChangeTimes(value, node.comparison)) ctx.marks.mark(t);
      return compare(value, node.comparison, ctx.now);
    }
    case 'event': {
      const outcome = evaluateEvent(node, event, ctx);
      return outcome.pending ? undefined : outcome.result;
    }
    default: {
      const _never: never = node;
      return _never;
    }
  }
}
