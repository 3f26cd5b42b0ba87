/**
 * Profile histories kept between the runner's real-time steps. An active profile is touched by step
 * after step, and reading its whole history from the event table each time (rows, payloads, then
 * objects for the garbage collector) was most of the runner's work under load.
 *
 * An entry is trusted only while the profile's events are unchanged, checked against the snapshot at
 * every use by a FINGERPRINT: the number of events its identifiers hold and the highest seq among them,
 * read from the `(ident, seq)` index alone. Events are only ever appended with a higher seq, or
 * removed (erasure, retention, redaction, an unmerge taking an identifier away), so:
 * - the same fingerprint means the same events: the entry is used as it is;
 * - a higher count and seq, where the events after the entry's seq account for the whole difference,
 *   means events were only added (new events, or a merge bringing an identifier): they are appended;
 * - anything else means something was removed: the history is loaded again in full.
 * An identifier that joins or leaves without events changes nothing, and nothing needs to change.
 *
 * Entries hold what the history filter selected: a new filter empties the cache. Bounded by the number
 * of events held, least recently used first out.
 */
import type { ProfileEvent } from '../../core/segments/index.ts';

export interface Fingerprint {
  count: number;
  lastSeq: number;
}

export interface CachedHistory extends Fingerprint {
  events: ProfileEvent[];
}

/** Events held at most by default: with properties, roughly 100–300 MB at the worst. */
export const HISTORY_CACHE_EVENTS = 200_000;

export class HistoryCache {
  private readonly entries = new Map<string, CachedHistory>();
  private held = 0;
  private filter = '';

  constructor(private readonly maxEvents = HISTORY_CACHE_EVENTS) {}

  /** Entries hold what this filter selects; another filter empties the cache. */
  useFilter(key: string): void {
    if (key === this.filter) return;
    this.clear();
    this.filter = key;
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
