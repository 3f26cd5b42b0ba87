/**
 * The timer model: at most one timer per (profile, target), each with the instant it falls due. This
 * in-memory version is what tests drive, and the reference for the durable timers table
 * (due_at, profile, target): the same operations, the same ordering, the same plain-data rows.
 */
import type { TimerChange, TimerTarget, Trigger } from './plan.ts';

/** One pending timer, as plain data (what the durable table stores). */
export interface TimerRow {
  profileId: string;
  target: TimerTarget;
  dueAt: number;
}

/** The timers of one profile due at one instant, and the trigger that fires them together. */
export interface DueBatch {
  profileId: string;
  dueAt: number;
  trigger: Extract<Trigger, { kind: 'timer' }>;
}

/** Keys of the targets made by `timerTarget` (a compiled segment's or trait's, named by every evaluation). */
const KEYS = new WeakMap<TimerTarget, string>();

/** A target made once, whose key is then found rather than built (the runner names thousands a second). */
export function timerTarget(kind: TimerTarget['kind'], id: string): TimerTarget {
  const target = Object.freeze({ kind, id });
  KEYS.set(target, `${kind}:${id}`);
  return target;
}

/** A stable text key for a target: `segment:<id>` or `trait:<id>` (the table's target column). */
export function targetKey(target: TimerTarget): string {
  return KEYS.get(target) ?? `${target.kind}:${target.id}`;
}

/** In-memory timers keyed by (profile, target). */
export class MemoryScheduler {
  readonly #timers = new Map<string, TimerRow>();

  /** Rebuild from stored rows, as after a restart. */
  static fromRows(rows: readonly TimerRow[]): MemoryScheduler {
    const scheduler = new MemoryScheduler();
    for (const row of rows) scheduler.set(row.profileId, row.target, row.dueAt);
    return scheduler;
  }

  /** Set (or move) the target's timer. */
  set(profileId: string, target: TimerTarget, dueAt: number): void {
    this.#timers.set(JSON.stringify([profileId, targetKey(target)]), { profileId, target: { ...target }, dueAt });
  }

  cancel(profileId: string, target: TimerTarget): void {
    this.#timers.delete(JSON.stringify([profileId, targetKey(target)]));
  }

  /** Apply the timer changes of a plan. */
  apply(profileId: string, changes: readonly TimerChange[]): void {
    for (const c of changes) {
      if (c.dueAt === null) this.cancel(profileId, c.target);
      else this.set(profileId, c.target, c.dueAt);
    }
  }

  /** The earliest due instant, or null when no timer is pending. */
  nextDueAt(): number | null {
    let earliest: number | null = null;
    for (const row of this.#timers.values()) if (earliest === null || row.dueAt < earliest) earliest = row.dueAt;
    return earliest;
  }

  /** Remove and return every timer due at or before `now`, earliest first. */
  takeDue(now: number): TimerRow[] {
    const due = [...this.#timers.entries()].filter(([, row]) => row.dueAt <= now).sort(([, a], [, b]) => a.dueAt - b.dueAt);
    for (const [key] of due) this.#timers.delete(key);
    return due.map(([, row]) => row);
  }

  /** Every pending timer as plain rows (serializable, sorted for stable comparisons). */
  rows(): TimerRow[] {
    return [...this.#timers.values()]
      .map((row) => ({ ...row, target: { ...row.target } }))
      .sort(
        (a, b) => a.dueAt - b.dueAt || a.profileId.localeCompare(b.profileId) || targetKey(a.target).localeCompare(targetKey(b.target)),
      );
  }
}

/**
 * Group due timers by profile and instant, in due order: the timers of one profile due at the same
 * instant fire together, so their targets are re-evaluated in one pass (dependents after dependencies).
 */
export function dueBatches(rows: readonly TimerRow[]): DueBatch[] {
  const batches = new Map<string, DueBatch>();
  for (const row of [...rows].sort((a, b) => a.dueAt - b.dueAt)) {
    const key = JSON.stringify([row.dueAt, row.profileId]);
    let batch = batches.get(key);
    if (!batch) {
      batch = { profileId: row.profileId, dueAt: row.dueAt, trigger: { kind: 'timer', segmentIds: [], traitIds: [] } };
      batches.set(key, batch);
    }
    const ids = row.target.kind === 'segment' ? batch.trigger.segmentIds : batch.trigger.traitIds;
    (ids as string[]).push(row.target.id);
  }
  return [...batches.values()];
}
