/**
 * One real-time step of the audience runner (`audience-runner.ts`), in two parts. First, on ONE snapshot
 * and without the write lock (`observe`): the merges and events after the cursors, the due timers, and the
 * state of every profile they touch; each is evaluated here (`evaluateStored`). Then, in one short write
 * transaction: what that decided. Between the two, the processor may commit; what it adds comes after the
 * cursors, so the next step sees it. Two things are checked again in the write: the cursors (another
 * runner on the same SQLite file may have taken the step: this one is then dropped, not written twice) and
 * that each profile still exists (an erasure or a merge may have removed it meanwhile: its writes are
 * dropped, and the merge log or the erasure has said what happens to it).
 */
import { dueBatches, type CompiledAudiences } from '../core/segments/index.ts';
import type { AudienceLease, AudienceView, HistoryFilter, ProfileWrite, StoredAudienceProfile } from '../storage/segments/segment-store.ts';
import type { AudiencePlan } from './audience-definitions.ts';
import { changedTraitsOf, evaluateStored, TriggerSet } from './audience-step.ts';

export const EVENTS_CURSOR = 'events';
export const MERGES_CURSOR = 'merge_log';

export interface StepReport {
  events: number;
  merges: number;
  timers: number;
  profiles: number;
  backfilled: number;
  /** Where a real-time step with work spent its time, ms. */
  phases?: StepPhases;
}

export interface StepPhases {
  /** Reading on the snapshot: what happened, and the touched profiles' state. */
  read: number;
  evaluate: number;
  /** Waiting for the write lock (SQLite: every other writer's transaction; PostgreSQL: a connection). */
  lockWait: number;
  /** The write transaction, commit included. */
  write: number;
}

/** What a step needs of its runner. */
export interface RealtimeContext {
  now: number;
  /** Events, merge log entries and due timers read per step. */
  limits: { events: number; merges: number; timers: number };
  /** What any current definition reads: the rest of a history is never loaded. */
  history: HistoryFilter;
  /** The compiled definitions a profile is evaluated with (a backfill may hold some profiles to others). */
  compiledFor: (profileId: string) => CompiledAudiences;
}

/** One real-time step; `phases` are set when it wrote (it had work and no other runner took it). */
export async function realtimeStep(lease: AudienceLease, plan: AudiencePlan, ctx: RealtimeContext): Promise<StepReport> {
  const { now } = ctx;
  const t0 = performance.now();
  const seen = await lease.read((view) => observe(view, plan, ctx));
  const { merges, followed, timers, absorbed, work, states } = seen;
  const report: StepReport = { events: followed.count, merges: merges.length, timers: timers.length, profiles: 0, backfilled: 0 };
  if (merges.length + followed.count + timers.length === 0) return report;

  const t1 = performance.now();
  const gone: string[] = [];
  const writes: ProfileWrite[] = [];
  for (const [profileId, stored] of states) {
    const entry = work.byProfile.get(profileId);
    // Absorbed by a merge, or erased: it leaves every segment and its timers and values go.
    if (!stored.exists) gone.push(profileId);
    else if (entry) writes.push(evaluateStored(ctx.compiledFor(profileId), stored, entry.triggers, now, plan.publish, entry.cause));
  }
  const t2 = performance.now();
  let t3 = t2;
  const written = await lease.run(async (tx) => {
    t3 = performance.now();
    const [mergeCursor, eventCursor] = await Promise.all([tx.cursor(MERGES_CURSOR), tx.cursor(EVENTS_CURSOR)]);
    if (mergeCursor !== seen.mergeCursor || eventCursor !== seen.eventCursor) return null;
    await tx.removeTimers(timers);
    for (const profileId of gone) await tx.dropProfile(profileId, now, plan.publish, absorbed.has(profileId) ? 'merge' : 'profile_gone');
    const live = await tx.existingProfiles(writes.map((w) => w.profileId));
    const kept = writes.filter((w) => live.has(w.profileId));
    await tx.apply(kept);
    const lastMerge = merges[merges.length - 1];
    if (lastMerge) await tx.setCursor(MERGES_CURSOR, lastMerge.id);
    if (followed.count > 0) await tx.setCursor(EVENTS_CURSOR, followed.last);
    return kept.length;
  });
  if (written === null) return { events: 0, merges: 0, timers: 0, profiles: 0, backfilled: 0 };
  report.profiles = written;
  report.phases = { read: t1 - t0, evaluate: t2 - t1, lockWait: t3 - t2, write: performance.now() - t3 };
  return report;
}

/**
 * The reading half of a real-time step: what happened after the cursors, and the state of the profiles
 * it touches. With nothing defined (no live segment or computed trait, no backfill) there is nothing to
 * evaluate: the step passes the events, counting them without reading them (one aggregate query), and
 * reads only the profiles a merge names (those it absorbed leave what the runner keeps).
 */
async function observe(view: AudienceView, plan: AudiencePlan, ctx: RealtimeContext) {
  const mergeCursor = await view.cursor(MERGES_CURSOR);
  const eventCursor = await view.cursor(EVENTS_CURSOR);
  const merges = await view.mergesAfter(mergeCursor, ctx.limits.merges);
  const idle = plan.live.segments.length === 0 && plan.live.traits.length === 0 && plan.after === null;
  // Idle, the events are only counted and passed: nothing would read them.
  const events = idle ? [] : await view.eventsAfter(eventCursor, ctx.limits.events, ctx.history);
  const followed = idle ? await view.eventsSpan(eventCursor) : { count: events.length, last: events.at(-1)?.seq ?? eventCursor };
  const timers = await view.dueTimers(ctx.now, ctx.limits.timers);
  const work = new TriggerSet();
  const absorbed = new Set<string>();
  const nothing = {
    mergeCursor,
    eventCursor,
    merges,
    events,
    followed,
    timers,
    absorbed,
    work,
    states: new Map<string, StoredAudienceProfile>(),
  };
  if (merges.length + followed.count + timers.length === 0) return nothing;

  for (const m of merges) {
    if (m.kind !== 'unmerge') m.otherIds.forEach((id) => absorbed.add(id));
    for (const id of [m.profileId, ...m.otherIds]) work.add(id, { kind: 'all' }, 'merge');
  }
  const kept = idle ? [] : events.filter((e) => !e.restricted && e.ident !== null);
  const owners = await view.profilesOfIdents([...new Set(kept.map((e) => e.ident as string))]);
  const byProfile = new Map<string, { names: Array<string | null>; traits: Set<string> }>();
  for (const e of kept) {
    const profileId = owners.get(e.ident as string);
    if (profileId === undefined) continue;
    let entry = byProfile.get(profileId);
    if (!entry) byProfile.set(profileId, (entry = { names: [], traits: new Set() }));
    entry.names.push(e.name);
    for (const t of changedTraitsOf(e.type === 'identify' ? e.payload : null)) entry.traits.add(t);
  }
  for (const [profileId, e] of byProfile) {
    work.add(profileId, { kind: 'event', eventNames: e.names, changedTraits: [...e.traits] }, 'event');
  }
  const timerTriggers = new Map<string, { segmentIds: Set<string>; traitIds: Set<string> }>();
  for (const batch of dueBatches(timers)) {
    let t = timerTriggers.get(batch.profileId);
    if (!t) timerTriggers.set(batch.profileId, (t = { segmentIds: new Set(), traitIds: new Set() }));
    batch.trigger.segmentIds.forEach((id) => t.segmentIds.add(id));
    batch.trigger.traitIds.forEach((id) => t.traitIds.add(id));
  }
  for (const [profileId, t] of timerTriggers) {
    work.add(profileId, { kind: 'timer', segmentIds: [...t.segmentIds], traitIds: [...t.traitIds] }, 'timer');
  }
  const touched = idle ? merges.flatMap((m) => [m.profileId, ...m.otherIds]) : [...work.byProfile.keys(), ...absorbed];
  // The step's own events complete the histories (read once, here, on the same snapshot).
  const recent = idle ? undefined : { after: eventCursor, upTo: followed.last, events };
  const states = await view.loadProfiles([...new Set(touched)], ctx.history, recent);
  return { ...nothing, states };
}
