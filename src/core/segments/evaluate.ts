/**
 * # The reference evaluator: what a segment rule means
 *
 * `evaluate(rule, profile, now)` decides membership from the profile's whole history. It is the
 * specification: the incremental (real-time) engine and any SQL compilation must agree with it.
 * `nextChangeAt(rule, profile, now)` says when membership next changes if no event arrives; the
 * real-time engine schedules its timers from it.
 *
 * ## Time
 * - Event time (the event's `timestamp`, after clock-skew correction), never arrival time, decides
 *   windows. A late event therefore changes past windows: re-evaluating gives the corrected answer.
 * - An event with a timestamp after `now` has not happened yet: no condition sees it until `now`
 *   reaches its timestamp (this keeps membership a function of `now` alone).
 * - All instants are UTC milliseconds. Dates in rules without an offset are UTC. A day is 24 hours;
 *   there are no calendar months.
 *
 * ## Windows (every interval is open at its older end and closed at its newer end)
 * - `within(N unit)`: events with `now - N < t <= now`. An event enters when `now` reaches `t` and
 *   leaves when `now` reaches `t + N`.
 * - `between(start, end)`: events with `start <= t < end` (and `t <= now`).
 * - No window: the whole history up to `now`.
 * - `within(parent: N unit)`, only inside `.where(...)`: events strictly after the parent event and at
 *   most N after it: `parent.t < t <= parent.t + N`. The parent itself, and events at the very same
 *   instant, are not "after" it.
 *
 * ## Funnels and absences
 * While a parent window is still open (`now < parent.t + N`), more events may still fall into it, so a
 * funnel condition is *pending* unless no further event can change its result: a count only grows,
 * so `count() >= 1` is decided true as soon as one event arrives, and `count() = 0` is decided false as
 * soon as one arrives. Hence an absence (`count() = 0` on a parent window) is decided TRUE only once
 * `now >= parent.t + N`. Other reducers stay pending until the window closes. A `.where` filter is
 * three-valued (Kleene logic: `false AND pending` is false, `true OR pending` is true); an event counts
 * only when its filter is decided true, so until then the parent event does not count.
 *
 * ## Comparisons and reducers
 * - Comparator meanings are in `compare.ts` (no value satisfies only `is_null`; `=` does not convert
 *   types; relative dates split the timeline around `now` like windows do).
 * - Reducers (`reducers.ts`) over an empty set: `count()` is 0, `sum()` is 0, and `unique()` (a count
 *   of distinct values) is 0; every other reducer has no value, and a comparison of a reducer's "no
 *   value" is false, whatever the comparator (`is_null` included).
 * - Traits and properties are looked up by exact key, else as a dot-separated path.
 *
 * ## Logic and other segments
 * AND, OR and NOT are two-valued at the top level. `segment('id')` is true when `id` is in
 * `profile.segments`; that set is an input, so this evaluator never sees it change over time (the
 * engine re-evaluates dependents when a segment's membership changes).
 */
import type { Condition } from './definition.ts';
import { compare, comparisonChangeTimes } from './compare.ts';
import { valueAt, type ProfileSnapshot } from './profile.ts';
import { EarliestAfter, evaluateEvent, IGNORE_MARKS, type EvalContext } from './select.ts';

export type { ProfileEvent, ProfileSnapshot } from './profile.ts';

/** Is the profile a member at `now`? */
export function evaluate(rule: Condition, profile: ProfileSnapshot, now: number): boolean {
  return evaluateCondition(rule, profile, { events: profile.events, now, marks: IGNORE_MARKS });
}

/**
 * The earliest instant after `now` at which `evaluate` gives a different answer, no new event arriving
 * and traits and other memberships staying as they are; null if membership never changes again.
 *
 * How: evaluating at time `t` reports every instant at which any part of the rule could change after
 * `t` (see `select.ts`); between two such instants nothing the rule reads changes. So we step from one
 * reported instant to the next, re-evaluating, until the answer differs.
 */
export function nextChangeAt(rule: Condition, profile: ProfileSnapshot, now: number): number | null {
  const initial = evaluate(rule, profile, now);
  let t = now;
  for (;;) {
    const next = nextCandidate(rule, profile, t);
    if (next === null) return null;
    if (evaluate(rule, profile, next) !== initial) return next;
    t = next;
  }
}

/** The first instant after `t` at which some part of the rule could change, as seen from `t`. */
function nextCandidate(rule: Condition, profile: ProfileSnapshot, t: number): number | null {
  const marks = new EarliestAfter(t);
  evaluateCondition(rule, profile, { events: profile.events, now: t, marks });
  return marks.earliest;
}

/**
 * Every part is evaluated (no short-circuit), so that every part reports when it could change; the
 * evaluator is the specification, and clarity matters more here than speed.
 */
function evaluateCondition(node: Condition, profile: ProfileSnapshot, ctx: EvalContext): boolean {
  switch (node.kind) {
    case 'and':
      return node.conditions.map((c) => evaluateCondition(c, profile, ctx)).every(Boolean);
    case 'or':
      return node.conditions.map((c) => evaluateCondition(c, profile, ctx)).some(Boolean);
    case 'not':
      return !evaluateCondition(node.condition, profile, ctx);
    case 'trait': {
      const value = valueAt(profile.traits, node.path);
      for (const instant of comparisonChangeTimes(value, node.comparison)) ctx.marks.mark(instant);
      return compare(value, node.comparison, ctx.now);
    }
    case 'event':
      // At the top level there is no parent window; events whose filter is pending simply do not count yet.
      return evaluateEvent(node, undefined, ctx).result;
    case 'segment':
      return profile.segments.has(node.id);
    default: {
      const _never: never = node;
      return _never;
    }
  }
}
