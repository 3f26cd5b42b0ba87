/**
 * An in-memory audience service around the pure engine, for tests: it stores profiles, applies plans,
 * and drives the engine only as production will, by events as they arrive and by due timers as the
 * injected clock passes them. `reference` is the from-scratch answer it must always agree with.
 */
import assert from 'node:assert/strict';
import { computeTrait } from '../../../../src/core/segments/computed-traits.ts';
import { evaluate } from '../../../../src/core/segments/evaluate.ts';
import type { ProfileEvent } from '../../../../src/core/segments/profile.ts';
import {
  compileAudiences,
  historyNeeds,
  type CompiledAudiences,
  type ComputedTraitInput,
  type SegmentInput,
} from '../../../../src/core/segments/engine/compile.ts';
import { evaluateProfile, visibleTraits, type ProfileState, type Trigger } from '../../../../src/core/segments/engine/plan.ts';
import { dueBatches, MemoryScheduler, type TimerRow } from '../../../../src/core/segments/engine/scheduler.ts';

export interface StoredProfile {
  traits: Record<string, unknown>;
  events: ProfileEvent[];
  memberships: Map<string, number>;
  computed: Record<string, unknown>;
}

export interface Notification {
  profileId: string;
  segmentId: string;
  change: 'entered' | 'exited';
  at: number;
}

export interface Definitions {
  segments: SegmentInput[];
  computedTraits?: ComputedTraitInput[];
}

export function compileOrFail(defs: Definitions): CompiledAudiences {
  const compiled = compileAudiences(defs.segments, defs.computedTraits ?? []);
  assert.ok(compiled.ok, `did not compile: ${JSON.stringify(compiled)}`);
  return compiled.value;
}

export class AudienceHarness {
  readonly compiled: CompiledAudiences;
  readonly profiles = new Map<string, StoredProfile>();
  readonly notifications: Notification[] = [];
  scheduler = new MemoryScheduler();
  /** Called after every plan is applied, with the instant it was evaluated at. */
  onApplied: (profileId: string, now: number) => void = () => {};

  constructor(
    readonly defs: Definitions,
    public now: number,
  ) {
    this.compiled = compileOrFail(defs);
  }

  profile(id: string): StoredProfile {
    let p = this.profiles.get(id);
    if (!p) {
      p = { traits: {}, events: [], memberships: new Map(), computed: {} };
      this.profiles.set(id, p);
    }
    return p;
  }

  /**
   * An event arrives now (its timestamp may be in the past: a late event). A profile seen for the first
   * time is evaluated in full: segments such as `count() = 0` hold for it before any event they read.
   */
  track(profileId: string, event: ProfileEvent): void {
    const known = this.profiles.has(profileId);
    this.profile(profileId).events.push(event);
    this.run(profileId, known ? { kind: 'event', eventNames: [event.name], changedTraits: [] } : { kind: 'all' }, this.now);
  }

  /** An identify arrives now, changing traits. */
  identify(profileId: string, traits: Record<string, unknown>): void {
    const known = this.profiles.has(profileId);
    Object.assign(this.profile(profileId).traits, traits);
    this.run(profileId, known ? { kind: 'event', eventNames: [], changedTraits: Object.keys(traits) } : { kind: 'all' }, this.now);
  }

  /** `from` is merged into `into`: its history and traits move over, its timers go, `into` is re-evaluated. */
  merge(into: string, from: string): void {
    const source = this.profile(from);
    const target = this.profile(into);
    target.events.push(...source.events);
    target.traits = { ...source.traits, ...target.traits };
    this.profiles.delete(from);
    for (const row of this.scheduler.rows()) if (row.profileId === from) this.scheduler.cancel(from, row.target);
    this.run(into, { kind: 'all' }, this.now);
  }

  /** Move the clock to `t`, firing every timer due on the way at its due instant, in order. */
  advanceTo(t: number): void {
    for (let due = this.scheduler.nextDueAt(); due !== null && due <= t; due = this.scheduler.nextDueAt()) {
      this.now = due;
      for (const batch of dueBatches(this.scheduler.takeDue(due))) this.run(batch.profileId, batch.trigger, batch.dueAt);
    }
    this.now = t;
  }

  /** Timers as stored rows, as a durable table would hold them. */
  timerRows(): TimerRow[] {
    return this.scheduler.rows();
  }

  private run(profileId: string, trigger: Trigger, now: number): void {
    const p = this.profile(profileId);
    // As the runner loads a history: only the events of names some definition reads, without properties
    // when none are read (the reference evaluator, which the property test compares against, sees all).
    const needs = historyNeeds(this.compiled);
    const names = needs.eventNames;
    const events = (names === null ? p.events : p.events.filter((e) => e.name !== null && names.has(e.name))).map((e) =>
      needs.properties ? e : { ...e, properties: {} },
    );
    const state: ProfileState = { profileId, traits: p.traits, events, memberships: p.memberships, computed: p.computed };
    const plan = evaluateProfile(this.compiled, state, trigger, now);
    for (const t of plan.timers) if (t.dueAt !== null) assert.ok(t.dueAt > now, 'a timer must fall due after now');
    p.memberships = plan.memberships;
    p.computed = plan.computed;
    this.scheduler.apply(profileId, plan.timers);
    for (const e of plan.entered) this.notifications.push({ profileId, segmentId: e.segmentId, change: 'entered', at: e.at });
    for (const e of plan.exited) this.notifications.push({ profileId, segmentId: e.segmentId, change: 'exited', at: e.at });
    this.onApplied(profileId, now);
  }

  /** Current segment ids of a profile, sorted. */
  segmentsOf(profileId: string): string[] {
    return [...this.profile(profileId).memberships.keys()].sort();
  }

  /** Notifications in the domain's words: `entered cart-abandoners at T0+60min`. */
  changesOf(profileId: string, at: (t: number) => string): string[] {
    return this.notifications.filter((n) => n.profileId === profileId).map((n) => `${n.change} ${n.segmentId} at ${at(n.at)}`);
  }
}

/**
 * The from-scratch answer: every computed trait by `computeTrait`, and memberships by `evaluate` over
 * the whole history. Memberships are iterated to a fixed point in the order given, so the reference
 * does not rely on the engine's topological sort (n rounds settle any acyclic chain of n segments).
 */
export function reference(
  compiled: CompiledAudiences,
  defs: Definitions,
  p: Pick<StoredProfile, 'traits' | 'events'>,
  now: number,
): { segments: string[]; computed: Record<string, unknown> } {
  const computed: Record<string, unknown> = {};
  for (const t of compiled.traits) {
    const value = computeTrait(t.definition, p.events, now);
    if (value !== undefined) computed[t.key] = value;
  }
  const traits = visibleTraits(compiled, p.traits, computed);
  let members = new Set<string>();
  for (let round = 0; round <= defs.segments.length; round++) {
    const next = new Set<string>();
    for (const s of compiled.segments) if (evaluate(s.rule, { traits, events: p.events, segments: members }, now)) next.add(s.id);
    members = next;
  }
  return { segments: [...members].sort(), computed };
}
