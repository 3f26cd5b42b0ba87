/** What the segment evaluators read: a profile's traits, its whole event history, and its other memberships. */

/** One event of a profile's history, as the evaluators see it. */
export interface ProfileEvent {
  /** `event` of a track, `name` of a page or screen, otherwise null. */
  name: string | null;
  type: string;
  /** Event time (not arrival time), ms since the epoch. */
  timestamp: number;
  properties: Record<string, unknown>;
}

export interface ProfileSnapshot {
  traits: Record<string, unknown>;
  /** In any order; the evaluators never assume the history is sorted. */
  events: ReadonlyArray<ProfileEvent>;
  /** Ids of the segments the profile currently belongs to. */
  segments: ReadonlySet<string>;
}

/**
 * The value at `path` in a traits or properties object: the key itself if present, otherwise the path
 * read as dot-separated keys (`address.city`).
 */
export function valueAt(record: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(record, path)) return record[path];
  if (!path.includes('.')) return undefined;
  let current: unknown = record;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, key)) {
      return undefined;
    }
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
