/**
 * One profile through the engine: run its triggers with the pure core (`evaluateProfile`), one after
 * the other on the same in-memory state, and turn the result into what to write (the difference
 * between the stored state and the new one). No I/O here.
 */
import { evaluateProfile, targetKey, type CompiledAudiences, type ProfileState, type Trigger } from '../core/segments/index.ts';
import type { ProfileWrite, StoredAudienceProfile } from '../storage/segments/segment-store.ts';
import { samePlain } from '../core/segments/engine/trait-timing.ts';

/** Collect triggers per profile; `all` subsumes the rest. */
export class TriggerSet {
  readonly byProfile = new Map<string, { triggers: Trigger[]; cause: string }>();

  add(profileId: string, trigger: Trigger, cause: string): void {
    const entry = this.byProfile.get(profileId);
    if (!entry) this.byProfile.set(profileId, { triggers: [trigger], cause });
    else if (trigger.kind === 'all') entry.triggers = [trigger];
    else if (entry.triggers[0]?.kind !== 'all') entry.triggers.push(trigger);
  }
}

/**
 * Evaluate a stored profile for its triggers as of `now`. A profile the runner has never evaluated in
 * full gets `all` whatever happened (see `Trigger`), unless `onlyTriggers` (a backfill that loaded only
 * what its targets read): then it is evaluated for the triggers alone and stays unknown.
 */
export function evaluateStored(
  compiled: CompiledAudiences,
  stored: StoredAudienceProfile,
  triggers: readonly Trigger[],
  now: number,
  publish: ReadonlySet<string>,
  cause: string,
  onlyTriggers = false,
): ProfileWrite {
  const run: readonly Trigger[] = stored.known || onlyTriggers ? triggers : [{ kind: 'all' }];
  let state: ProfileState = {
    profileId: stored.profileId,
    traits: stored.traits,
    events: stored.events,
    memberships: stored.memberships,
    computed: stored.computed,
  };
  const timers = new Map<string, number | null>();
  for (const trigger of run) {
    const plan = evaluateProfile(compiled, state, trigger, now);
    for (const t of plan.timers) timers.set(targetKey(t.target), t.dueAt);
    state = { ...state, memberships: plan.memberships, computed: plan.computed };
  }
  return diff(stored, state, timers, now, publish, cause, !stored.known && !onlyTriggers);
}

function diff(
  stored: StoredAudienceProfile,
  next: ProfileState,
  timers: ReadonlyMap<string, number | null>,
  now: number,
  publish: ReadonlySet<string>,
  cause: string,
  evaluatedInFull: boolean,
): ProfileWrite {
  const entered: ProfileWrite['entered'] = [];
  const exited: ProfileWrite['exited'] = [];
  for (const [segmentId, since] of next.memberships) if (!stored.memberships.has(segmentId)) entered.push({ segmentId, at: since });
  for (const segmentId of stored.memberships.keys()) if (!next.memberships.has(segmentId)) exited.push({ segmentId, at: now });
  const computedSet: ProfileWrite['computedSet'] = [];
  const computedDeleted: string[] = [];
  for (const [key, value] of Object.entries(next.computed)) {
    if (!samePlain(value, stored.computed[key])) computedSet.push({ key, value });
  }
  for (const key of Object.keys(stored.computed)) if (!Object.hasOwn(next.computed, key)) computedDeleted.push(key);
  return {
    profileId: stored.profileId,
    entered,
    exited,
    publish,
    cause,
    computedSet,
    computedDeleted,
    timers: [...timers]
      .filter(([target, dueAt]) => timerToWrite(stored.timers.get(target), dueAt, now))
      .map(([target, dueAt]) => ({ target, dueAt })),
    known: evaluatedInFull,
    at: now,
  };
}

/**
 * Whether a target's timer is written, given the one stored (`current`) and the evaluation's (`dueAt`,
 * null: none needed). Only what changes — most evaluations leave most targets without a timer — and,
 * of a timer still pending, only a move EARLIER: a pending timer that fires before its target can change
 * re-evaluates the profile, finds nothing to do, and is re-armed or removed then (an early wake costs one
 * evaluation; a timer is never late). Every event of an active profile would otherwise move its window's
 * exit a little later, each move a write of three index entries (the timer's key, its due time, its target).
 * A timer that is due (`current <= now`, being taken) is always written: re-armed, or removed.
 */
export function timerToWrite(current: number | undefined, dueAt: number | null, now: number): boolean {
  if (current === undefined) return dueAt !== null;
  if (current <= now) return dueAt !== current;
  return dueAt !== null && dueAt < current;
}

/** Top-level trait names an identify payload writes (a changed `address` covers reads of `address.city`). */
export function changedTraitsOf(identifyPayload: string | null): string[] {
  if (identifyPayload === null) return [];
  const traits = (JSON.parse(identifyPayload) as { traits?: unknown }).traits;
  return typeof traits === 'object' && traits !== null && !Array.isArray(traits) ? Object.keys(traits) : [];
}
