/**
 * Profile histories kept between the runner's real-time steps. An active profile is touched by step
 * after step, and reading its whole history from the event table each time (rows, payloads, then
 * objects for the garbage collector) was most of the runner's work under load.
 *
 * When an entry is trusted, checked against the snapshot at every use:
 * - Events are only ever appended, each with a higher seq than any before (seqs are never given twice),
 *   or removed or re-pointed (erasure, retention, redaction). Every removal or re-pointing bumps the
 *   `event_removals` counter, kept by database triggers (segment migration 2): while the counter is
 *   unchanged, no event has left any identifier.
 * - A profile's history is the events of its identifiers. While its identifiers are the same (a merge
 *   or an unmerge changes them), its history is the entry's events plus the matching ones after the
 *   entry's seq (the newest seq of the store when the entry was read).
 * Anything else reads the history again: a changed counter empties the cache, a changed set of
 * identifiers reloads that profile.
 *
 * Entries hold what the history filter selected: a new filter empties the cache too. Bounded by the
 * number of events held, least recently used first out.
 */
import type { ProfileEvent } from '../../core/segments/index.ts';

export interface CachedHistory {
  /** The profile's identifier keys when read, sorted and joined. */
  idents: string;
  /** The store's newest event seq when read: the events after it are what is new. */
  lastSeq: number;
  events: ProfileEvent[];
}

/** Events held at most by default: with properties, roughly 100–300 MB at the worst. */
export const HISTORY_CACHE_EVENTS = 200_000;

export class HistoryCache {
  private readonly entries = new Map<string, CachedHistory>();
  private held = 0;
  private validity = '';

  constructor(private readonly maxEvents = HISTORY_CACHE_EVENTS) {}

  /** Entries are valid for this key (the history filter and the removals counter); another key empties the cache. */
  validFor(key: string): void {
    if (key === this.validity) return;
    this.clear();
    this.validity = key;
  }

  get(profileId: string): CachedHistory | undefined {
    const entry = this.entries.get(profileId);
    if (entry !== undefined) {
      // Most recently used last.
      this.entries.delete(profileId);
      this.entries.set(profileId, entry);
    }
    return entry;
  }

  set(profileId: string, entry: CachedHistory): void {
    this.delete(profileId);
    if (entry.events.length > this.maxEvents / 4) return; // one huge history would push out everyone else
    this.entries.set(profileId, entry);
    this.held += entry.events.length;
    for (const [id, oldest] of this.entries) {
      if (this.held <= this.maxEvents) break;
      this.entries.delete(id);
      this.held -= oldest.events.length;
    }
  }

  delete(profileId: string): void {
    const entry = this.entries.get(profileId);
    if (entry === undefined) return;
    this.entries.delete(profileId);
    this.held -= entry.events.length;
  }

  clear(): void {
    this.entries.clear();
    this.held = 0;
  }

  /** Profiles and events held (tests, metrics). */
  get stats(): { profiles: number; events: number } {
    return { profiles: this.entries.size, events: this.held };
  }
}
