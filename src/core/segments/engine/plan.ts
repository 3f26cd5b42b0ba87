/**
 * # The incremental audience engine: one profile, one trigger, one plan
 *
 * Strategy: something happened to one profile (an event arrived, a timer fell due, or its history was
 * rewritten by a merge). We re-evaluate only what that can change, with the reference evaluators over
 * the profile's whole history, so the engine cannot disagree with the specification on what it
 * re-evaluates; the index decides *what* to re-evaluate, and timers cover changes due to time alone.
 *
 * One pass, in this order:
 * 1. computed traits the trigger can affect (they read events only);
 * 2. segments, in topological order: those the trigger affects, those reading a computed trait that
 *    just changed, and the dependents of any segment whose membership just changed (always later in
 *    the order, so they see the fresh membership and are evaluated once).
 * Every target re-evaluated gets its next due moment (or null: cancel its timer). A target that was not
 * re-evaluated keeps its timer: nothing it reads has changed, so its next change has not moved.
 *
 * The result is a plan (compute, then apply): the caller stores memberships, computed values and timers
 * in one transaction, and emits the entered / exited notifications.
 */
import { evaluate, nextChangeAt } from '../evaluate.ts';
import { fastDecide } from '../next-change-fast.ts';
import { computeTrait } from '../computed-traits.ts';
import type { ProfileEvent } from '../profile.ts';
import { segmentsReadingTraits, targetsOfEvents, type CompiledAudiences } from './compile.ts';
import { nextTraitChangeAt, samePlain } from './trait-timing.ts';

/** What a timer re-evaluates when it falls due. */
export type TimerTarget = { kind: 'segment'; id: string } | { kind: 'trait'; id: string };

/** Set the target's timer to `dueAt`, or cancel it (null). At most one timer per (profile, target). */
export interface TimerChange {
  target: TimerTarget;
  dueAt: number | null;
}

/** Why the profile is being re-evaluated. */
export type Trigger =
  /**
   * Events were added to the history (possibly late ones): list every one's name, `null` for unnamed
   * ones such as an identify, which type-only conditions may still match. `changedTraits` are the trait
   * paths an identify changed; an empty `eventNames` means only traits changed.
   */
  | { kind: 'event'; eventNames: readonly (string | null)[]; changedTraits: readonly string[] }
  /** Timers of these targets fell due. */
  | { kind: 'timer'; segmentIds: readonly string[]; traitIds: readonly string[] }
  /**
   * Everything: a profile seen for the first time (segments such as `count() = 0` or `not segment(x)`
   * hold before any event they read arrives), a merge or unmerge that rewrote the history, a backfill.
   */
  | { kind: 'all' };

/** The profile as stored, before the trigger is applied. */
export interface ProfileState {
  profileId: string;
  /** The profile's own traits (computed trait values are overlaid from `computed`). */
  traits: Record<string, unknown>;
  /** The whole history, in any order, including the events that caused the trigger. */
  events: readonly ProfileEvent[];
  /** Segment id → when the profile entered it. Ids not in the compiled set are carried over untouched. */
  memberships: ReadonlyMap<string, number>;
  /** Computed trait key → current value; a missing key means no value. */
  computed: Readonly<Record<string, unknown>>;
}

export interface MembershipChange {
  segmentId: string;
  at: number;
}

export interface ComputedChange {
  /** The trait key. */
  name: string;
  /** `undefined`: the trait no longer has a value. */
  value: unknown;
  previous: unknown;
}

export interface ProfilePlan {
  profileId: string;
  entered: MembershipChange[];
  exited: MembershipChange[];
  /** Every membership after the trigger (segment id → since). */
  memberships: Map<string, number>;
  /** Every computed value after the trigger, keyed by trait key. */
  computed: Record<string, unknown>;
  computedChanges: ComputedChange[];
  /** One entry per target re-evaluated. */
  timers: TimerChange[];
}

/** The traits segments see: the profile's own, with every computed trait's value written over them. */
export function visibleTraits(
  compiled: CompiledAudiences,
  traits: Record<string, unknown>,
  computed: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  if (compiled.traits.length === 0) return traits;
  const out = { ...traits };
  for (const t of compiled.traits) {
    const value = computed[t.key];
    // A computed trait without a value is unset, even if the profile once had a trait of that name.
    if (value === undefined) delete out[t.key];
    else out[t.key] = value;
  }
  return out;
}

/** Re-evaluate what the trigger can affect for one profile, as of `now`, and say what to change. */
export function evaluateProfile(compiled: CompiledAudiences, input: ProfileState, trigger: Trigger, now: number): ProfilePlan {
  const { events } = input;
  // A future-stamped event becomes visible later, so even a time-independent rule may change then.
  const hasFutureEvent = events.some((e) => e.timestamp > now);
  const timers: TimerChange[] = [];
  const computed: Record<string, unknown> = { ...input.computed };
  const computedChanges: ComputedChange[] = [];
  const changedPaths = new Set<string>(trigger.kind === 'event' ? trigger.changedTraits : []);

  for (const position of new Set(affectedTraits(compiled, trigger))) {
    const t = compiled.traits[position];
    if (t === undefined) continue;
    const value = computeTrait(t.definition, events, now);
    const previous = input.computed[t.key];
    if (!samePlain(value, previous)) {
      computedChanges.push({ name: t.key, value, previous });
      if (value === undefined) delete computed[t.key];
      else computed[t.key] = value;
      changedPaths.add(t.key);
    }
    const timed = t.reads.timeDependent || hasFutureEvent;
    timers.push({ target: t.target, dueAt: timed ? nextTraitChangeAt(t.definition, events, now) : null });
  }

  const affected = new Uint8Array(compiled.segments.length);
  for (const position of affectedSegments(compiled, trigger)) affected[position] = 1;
  for (const position of segmentsReadingTraits(compiled, changedPaths)) affected[position] = 1;

  const memberships = new Map(input.memberships);
  // Live view of the memberships: a dependent evaluated later in the pass sees changes made earlier.
  const snapshot = { traits: visibleTraits(compiled, input.traits, computed), events, segments: new Set(memberships.keys()) };
  const entered: MembershipChange[] = [];
  const exited: MembershipChange[] = [];
  compiled.segments.forEach((s, position) => {
    if (affected[position] !== 1) return;
    const timed = s.reads.timeDependent || hasFutureEvent;
    // Membership and next change in one pass where the fast path handles the rule. A rule never reads its
    // own segment (definitions cannot form cycles), so the change of membership below leaves both as they are.
    const fast = fastDecide(s.rule, snapshot, now, timed);
    const member = fast?.member ?? evaluate(s.rule, snapshot, now);
    if (member !== memberships.has(s.id)) {
      if (member) {
        memberships.set(s.id, now);
        snapshot.segments.add(s.id);
        entered.push({ segmentId: s.id, at: now });
      } else {
        memberships.delete(s.id);
        snapshot.segments.delete(s.id);
        exited.push({ segmentId: s.id, at: now });
      }
      for (const d of s.dependents) affected[d] = 1;
    }
    const dueAt = !timed ? null : fast !== undefined ? fast.next : nextChangeAt(s.rule, snapshot, now);
    timers.push({ target: s.target, dueAt });
  });

  return { profileId: input.profileId, entered, exited, memberships, computed, computedChanges, timers };
}

function affectedTraits(compiled: CompiledAudiences, trigger: Trigger): number[] {
  switch (trigger.kind) {
    case 'event':
      return targetsOfEvents(compiled.traitsByEvent, trigger.eventNames);
    case 'timer':
      return positionsOf(compiled.traitPosition, trigger.traitIds);
    case 'all':
      return compiled.traits.map((_, i) => i);
    default: {
      const _never: never = trigger;
      return _never;
    }
  }
}

function affectedSegments(compiled: CompiledAudiences, trigger: Trigger): number[] {
  switch (trigger.kind) {
    case 'event':
      // Changed traits are handled with the changed computed traits (`changedPaths`).
      return targetsOfEvents(compiled.segmentsByEvent, trigger.eventNames);
    case 'timer':
      return positionsOf(compiled.segmentPosition, trigger.segmentIds);
    case 'all':
      return compiled.segments.map((_, i) => i);
    default: {
      const _never: never = trigger;
      return _never;
    }
  }
}

/** Ids no longer defined (a timer outliving its segment) are skipped: there is nothing to evaluate. */
function positionsOf(positions: ReadonlyMap<string, number>, ids: readonly string[]): number[] {
  return ids.flatMap((id) => {
    const p = positions.get(id);
    return p === undefined ? [] : [p];
  });
}
