/**
 * `nextChangeAt` in one pass, for the rules most segments are: AND/OR/NOT over trait comparisons,
 * segment memberships and event COUNTS over a sliding window (or all time), filtered by comparisons
 * of properties that do not depend on the time.
 *
 * The reference (`evaluate.ts`) steps from one instant at which something could change to the next,
 * evaluating the whole rule over the whole history at each. For a member with many events in a window
 * that is one evaluation per event leaving it: quadratic in the history, and most of the audience
 * runner's evaluation time for active profiles. Here each counted event is in the count on
 * [timestamp, timestamp + window): the count at any instant is the number of events begun minus the
 * number ended by then, two binary searches in sorted lists; the rule is evaluated at each instant at
 * which some count, or some relative-date trait comparison, changes, in order, until its answer differs.
 * That is the same instant the reference finds (a property test compares the two). `fastEvaluate` answers
 * membership the same way. The sorted times are built once per history and selector (name, type, filter),
 * so segments that count the same events over different windows or thresholds share them.
 *
 * Returns `undefined` for a rule it does not handle (other reducers, `between` windows, funnels,
 * relative-date comparisons on properties or counts): the caller then asks the reference.
 */
import type { Comparison, Condition, Filter, FunnelEventCondition } from './definition.ts';
import { compare, comparisonChangeTimes } from './compare.ts';
import { valueAt, type ProfileEvent, type ProfileSnapshot } from './profile.ts';
import { candidates, evaluateFilter, IGNORE_MARKS } from './select.ts';
import { durationMs } from './time.ts';

const RELATIVE = new Set(['within_last', 'before_last', 'within_next', 'after_next']);
const timeFree = (c: Comparison) => !RELATIVE.has(c.op);

/** A count leaf, prepared: when each counted event starts counting, sorted; each stops `span` later. */
interface CountLeaf {
  starts: Float64Array;
  span: number;
}

function filterSupported(f: Filter): boolean {
  switch (f.kind) {
    case 'and':
    case 'or':
      return f.conditions.every(filterSupported);
    case 'not':
      return filterSupported(f.condition);
    case 'property':
      return timeFree(f.comparison);
    default:
      return false;
  }
}

function leafSupported(e: FunnelEventCondition): boolean {
  return (
    e.reducer.fn === 'count' &&
    (e.window === undefined || e.window.kind === 'within') &&
    timeFree(e.comparison) &&
    (e.where === undefined || filterSupported(e.where))
  );
}

function supported(c: Condition): boolean {
  switch (c.kind) {
    case 'and':
    case 'or':
      return c.conditions.every(supported);
    case 'not':
      return supported(c.condition);
    case 'trait':
    case 'segment':
      return true;
    case 'event':
      return leafSupported(c);
    default:
      return false;
  }
}

/** How many of `sorted` are ≤ t. */
function countAtMost(sorted: Float64Array, t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether each rule is handled, remembered per rule object (a compiled segment keeps its rule). */
const HANDLED = new WeakMap<Condition, boolean>();

interface Sweep {
  profile: ProfileSnapshot;
  now: number;
  leaves: Map<FunnelEventCondition, CountLeaf>;
  /**
   * Instants after `now` at which a trait comparison may change (null: not wanted). Those of the counts
   * are read from the leaves' sorted times as they are needed (`nextChange`).
   */
  instants: number[] | null;
}

function prepare(c: Condition, sweep: Sweep): void {
  switch (c.kind) {
    case 'and':
    case 'or':
      for (const x of c.conditions) prepare(x, sweep);
      return;
    case 'not':
      prepare(c.condition, sweep);
      return;
    case 'trait':
      if (sweep.instants === null) return;
      for (const t of comparisonChangeTimes(valueAt(sweep.profile.traits, c.path), c.comparison)) if (t > sweep.now) sweep.instants.push(t);
      return;
    case 'event': {
      const span = c.window?.kind === 'within' ? durationMs(c.window.amount, c.window.unit) : Infinity;
      sweep.leaves.set(c, { starts: countedStarts(c, sweep), span });
      return;
    }
    default:
      return;
  }
}

/** What selects a leaf's events (not its window): segments counting the same events share their times. */
const SELECTOR = new WeakMap<FunnelEventCondition, string>();
/** Per history (and its length, as `candidates` does): the sorted times of the events each selector counts. */
const STARTS = new WeakMap<readonly ProfileEvent[], { length: number; bySelector: Map<string, Float64Array> }>();

function countedStarts(c: FunnelEventCondition, sweep: Sweep): Float64Array {
  const events = sweep.profile.events;
  let selector = SELECTOR.get(c);
  if (selector === undefined) SELECTOR.set(c, (selector = JSON.stringify([c.name ?? null, c.type ?? null, c.where ?? null])));
  let memo = STARTS.get(events);
  if (memo === undefined || memo.length !== events.length) STARTS.set(events, (memo = { length: events.length, bySelector: new Map() }));
  let starts = memo.bySelector.get(selector);
  if (starts === undefined) {
    // The filter reads properties only, through comparisons that ignore the time: any instant will do.
    const ctx = { events, now: sweep.now, marks: IGNORE_MARKS };
    const counted: number[] = [];
    for (const e of candidates(events, c.name)) {
      if ((c.name !== undefined && e.name !== c.name) || (c.type !== undefined && e.type !== c.type)) continue;
      if (c.where !== undefined && evaluateFilter(c.where, e, ctx) !== true) continue;
      counted.push(e.timestamp);
    }
    starts = Float64Array.from(counted).sort();
    memo.bySelector.set(selector, starts);
  }
  return starts;
}

function holds(c: Condition, t: number, sweep: Sweep): boolean {
  switch (c.kind) {
    case 'and':
      for (const x of c.conditions) if (!holds(x, t, sweep)) return false;
      return true;
    case 'or':
      for (const x of c.conditions) if (holds(x, t, sweep)) return true;
      return false;
    case 'not':
      return !holds(c.condition, t, sweep);
    case 'trait':
      return compare(valueAt(sweep.profile.traits, c.path), c.comparison, t);
    case 'segment':
      return sweep.profile.segments.has(c.id);
    case 'event': {
      const leaf = sweep.leaves.get(c) as CountLeaf;
      // Counting on [start, start + span): begun by t, minus ended by t.
      const count = countAtMost(leaf.starts, t) - (leaf.span === Infinity ? 0 : countAtMost(leaf.starts, t - leaf.span));
      return compare(count, c.comparison, t);
    }
    default:
      return false;
  }
}

function handled(rule: Condition): boolean {
  let yes = HANDLED.get(rule);
  if (yes === undefined) HANDLED.set(rule, (yes = supported(rule)));
  return yes;
}

/** `evaluate` for the rules handled here (undefined for the others): the counts by binary search. */
export function fastEvaluate(rule: Condition, profile: ProfileSnapshot, now: number): boolean | undefined {
  return fastDecide(rule, profile, now, false)?.member;
}

export function fastNextChangeAt(rule: Condition, profile: ProfileSnapshot, now: number): number | null | undefined {
  return fastDecide(rule, profile, now, true)?.next;
}

/**
 * Membership at `now` and, with `withNext`, the next instant it changes (null: never, or not asked), in
 * one pass over the rule's counts: the engine asks both for every segment it evaluates. Undefined for a
 * rule not handled here.
 */
export function fastDecide(
  rule: Condition,
  profile: ProfileSnapshot,
  now: number,
  withNext: boolean,
): { member: boolean; next: number | null } | undefined {
  if (!handled(rule)) return undefined;
  const sweep: Sweep = { profile, now, leaves: new Map(), instants: withNext ? [] : null };
  prepare(rule, sweep);
  const member = holds(rule, now, sweep);
  return { member, next: sweep.instants === null ? null : nextChange(rule, sweep, member) };
}

/** A sorted list of instants read from `at` on: `times[i] + shift`. */
interface Run {
  times: Float64Array;
  at: number;
  shift: number;
}

/**
 * The first instant after `now` at which the rule's answer is no longer `member`: the instants at which
 * anything may change, in order, merged from sorted runs (each count's later starts, and its ends: a
 * start plus the window) rather than gathered and sorted: the walk stops at the first change, and a
 * long history is not sorted again for every segment evaluated.
 */
function nextChange(rule: Condition, sweep: Sweep, member: boolean): number | null {
  const now = sweep.now;
  const runs: Run[] = [];
  for (const { starts, span } of sweep.leaves.values()) {
    const later = countAtMost(starts, now);
    if (later < starts.length) runs.push({ times: starts, at: later, shift: 0 });
    if (span === Infinity) continue;
    const ending = countAtMost(starts, now - span); // the first start whose end, start + span, is after now
    if (ending < starts.length) runs.push({ times: starts, at: ending, shift: span });
  }
  if ((sweep.instants as number[]).length > 0) runs.push({ times: Float64Array.from(sweep.instants as number[]).sort(), at: 0, shift: 0 });
  let previous = now;
  for (;;) {
    let next: Run | undefined;
    let t = Infinity;
    for (const run of runs) {
      if (run.at === run.times.length) continue;
      const v = (run.times[run.at] as number) + run.shift;
      if (v < t) {
        t = v;
        next = run;
      }
    }
    if (next === undefined) return null;
    next.at++;
    if (t <= previous) continue;
    previous = t;
    if (holds(rule, t, sweep) !== member) return t;
  }
}
