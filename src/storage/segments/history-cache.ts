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
 *   entry's seq (the seq up to which it holds them: the runner's step's last event, or the store's newest
 *   when read without a step's events).
 * Anything else reads the history again: a changed counter empties the cache, a changed set of
 * identifiers reloads that profile.
 *
 * Entries hold what the history filter selected: a new filter empties the cache too. Bounded by the
 * number of events held and by their estimated size in memory (an event whose properties a rule reads
 * keeps them, parsed: a few hundred bytes to tens of kilobytes each), least recently used first out.
 */
import type { ProfileEvent } from '../../core/segments/index.ts';

export interface CachedHistory {
  /** The profile's identifier keys when read, sorted and joined. */
  idents: string;
  /** The entry holds the profile's events up to this seq: the events after it are what is new. */
  lastSeq: number;
  events: ProfileEvent[];
  /** The events' estimated size in memory (see `SqlAudienceReader`'s events). */
  bytes: number;
}

/** Events held at most by default. */
export const HISTORY_CACHE_EVENTS = 200_000;
/**
 * Estimated bytes held at most by default. 200,000 events of ~1 KB payloads would be ~250 MB: this keeps
 * the runner's thread well under its share of a process meant to stay under 1 GB.
 */
export const HISTORY_CACHE_BYTES = 128 * 1024 * 1024;

export class HistoryCache {
  private readonly entries = new Map<string, CachedHistory>();
  private held = 0;
  private heldBytes = 0;
  private validity = '';

  constructor(
    private readonly maxEvents = HISTORY_CACHE_EVENTS,
    private readonly maxBytes = HISTORY_CACHE_BYTES,
  ) {}

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
    // One huge history would push out everyone else.
    if (entry.events.length > this.maxEvents / 4 || entry.bytes > this.maxBytes / 4) return;
    this.entries.set(profileId, entry);
    this.held += entry.events.length;
    this.heldBytes += entry.bytes;
    for (const id of this.entries.keys()) {
      if (this.held <= this.maxEvents && this.heldBytes <= this.maxBytes) break;
      this.delete(id);
    }
  }

  delete(profileId: string): void {
    const entry = this.entries.get(profileId);
    if (entry === undefined) return;
    this.entries.delete(profileId);
    this.held -= entry.events.length;
    this.heldBytes -= entry.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.held = 0;
    this.heldBytes = 0;
  }

  /** Profiles, events and estimated bytes held (tests, metrics). */
  get stats(): { profiles: number; events: number; bytes: number } {
    return { profiles: this.entries.size, events: this.held, bytes: this.heldBytes };
  }
}
