/**
 * What the runner keeps per profile (memberships, computed values, timers, whether it was evaluated in
 * full), held between real-time steps. The runner is the one writer of these rows, so under a steady
 * load it would otherwise read back, step after step, what it wrote itself: four indexed reads per
 * profile, the largest part of a step's reading with a few hundred active profiles.
 *
 * When the entries are trusted: every change to those four tables by anyone but the runner's tracked
 * write transactions bumps the `audience_writes` counter (database triggers, segment migration 4), so
 * no code path (an erasure, another runner, a tool) can change them unseen. A snapshot whose counter is
 * not the entries' empties the cache. A tracked write transaction's own changes are applied to the
 * entries once it has committed (`AudienceStateTracker`); its writes stay out of the counter (the
 * triggers skip a transaction that says it is the runner's, by a setting on PostgreSQL and a flag set and
 * cleared within the transaction on SQLite). Anyone else's change, before, during or after it, has moved
 * the counter away from the entries' for good (it only grows), so the next snapshot drops them. A purge, which
 * the entries cannot follow, drops them all. Bounded by profiles, least recently used out.
 */
import { targetKey, type TimerRow } from '../../core/segments/index.ts';
import type { ProfileWrite, StoredAudienceProfile } from './segment-store.ts';

export interface AudienceState {
  memberships: Map<string, number>;
  /** Values as stored (frozen: the evaluation never changes a value in place, and must not). */
  computed: Record<string, unknown>;
  timers: Map<string, number>;
  known: boolean;
}

/**
 * Profiles held at most by default. A profile with nothing kept (no membership, value or timer: most
 * of them) shares one empty state and costs its map entry; the others a few hundred bytes. 100,000 empty
 * states as objects of their own took 67 MB.
 */
export const AUDIENCE_STATE_PROFILES = 50_000;

const EMPTY = (known: boolean): AudienceState =>
  Object.freeze({ memberships: new Map(), computed: Object.freeze({}), timers: new Map(), known }) as AudienceState;
/** Shared by every profile with nothing kept (never changed in place: `own` copies it first). */
const NOTHING = { known: EMPTY(true), unknown: EMPTY(false) };

function frozen(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) frozen(v);
    Object.freeze(value);
  }
  return value;
}

export class AudienceStateCache {
  private readonly entries = new Map<string, AudienceState>();
  /** The `audience_writes` counter the entries are valid for (null: none yet). */
  private counter: number | null = null;

  constructor(private readonly maxProfiles = AUDIENCE_STATE_PROFILES) {}

  /** A snapshot's counter: when it is not the entries', they are dropped. */
  validFor(counter: number): void {
    if (counter === this.counter) return;
    this.entries.clear();
    this.counter = counter;
  }

  /** Drop everything; the next read checks the counter afresh. */
  clear(): void {
    this.entries.clear();
    this.counter = null;
  }

  /** A copy of the profile's state into `into` (its maps are the profile's own); false when not held. */
  fill(into: StoredAudienceProfile): boolean {
    const entry = this.entries.get(into.profileId);
    if (entry === undefined) return false;
    this.entries.delete(into.profileId);
    this.entries.set(into.profileId, entry); // most recently used last
    into.memberships = new Map(entry.memberships);
    into.computed = { ...entry.computed };
    into.timers = new Map(entry.timers);
    into.known = entry.known;
    return true;
  }

  /** Hold the state just read for a profile. */
  hold(from: StoredAudienceProfile): void {
    this.entries.delete(from.profileId);
    const empty = from.memberships.size === 0 && from.timers.size === 0 && Object.keys(from.computed).length === 0;
    for (const v of Object.values(from.computed)) frozen(v);
    this.entries.set(
      from.profileId,
      empty
        ? NOTHING[from.known ? 'known' : 'unknown']
        : { memberships: new Map(from.memberships), computed: { ...from.computed }, timers: new Map(from.timers), known: from.known },
    );
    for (const id of this.entries.keys()) {
      if (this.entries.size <= this.maxProfiles) break;
      this.entries.delete(id);
    }
  }

  /** The profile's entry, its own (not the shared empty one) to change in place; undefined when not held. */
  private own(profileId: string): AudienceState | undefined {
    const entry = this.entries.get(profileId);
    if (entry === NOTHING.known || entry === NOTHING.unknown) {
      const copy: AudienceState = { memberships: new Map(), computed: {}, timers: new Map(), known: entry.known };
      this.entries.set(profileId, copy);
      return copy;
    }
    return entry;
  }

  /** Apply a committed write, as the SQL did (an entry already there is not entered again). */
  applyWrite(w: ProfileWrite): void {
    const entry = this.own(w.profileId);
    if (entry === undefined) return;
    for (const e of w.exited) entry.memberships.delete(e.segmentId);
    for (const e of w.entered) if (!entry.memberships.has(e.segmentId)) entry.memberships.set(e.segmentId, e.at);
    for (const t of w.timers) {
      if (t.dueAt === null) entry.timers.delete(t.target);
      else entry.timers.set(t.target, t.dueAt);
    }
    for (const v of w.computedSet) entry.computed[v.key] = frozen(v.value);
    for (const key of w.computedDeleted) delete entry.computed[key];
    if (w.known) entry.known = true;
  }

  /** Due timers removed (each only while still due at the same instant). */
  removeTimers(timers: readonly TimerRow[]): void {
    for (const t of timers) {
      const key = targetKey(t.target);
      if (this.entries.get(t.profileId)?.timers.get(key) === t.dueAt) this.own(t.profileId)?.timers.delete(key);
    }
  }

  drop(profileId: string): void {
    this.entries.delete(profileId);
  }
}

/**
 * One write transaction's view of the cache: what it changed, applied only once it has committed (a
 * purge drops everything instead; see the top of this file for why anyone else's writes need no check here).
 */
export class AudienceStateTracker {
  /** Whether this transaction has written to the runner's tables (and said it is the runner's). */
  started = false;
  private readonly changes: Array<(cache: AudienceStateCache) => void> = [];
  private foreign = false;

  constructor(readonly cache: AudienceStateCache) {}

  record(change: (cache: AudienceStateCache) => void): void {
    this.changes.push(change);
  }

  /** A change the entries cannot follow (a purge): drop them all after the commit. */
  invalidate(): void {
    this.foreign = true;
  }

  /** After the commit. */
  committed(): void {
    if (this.foreign) this.cache.clear();
    else for (const change of this.changes) change(this.cache);
  }
}
