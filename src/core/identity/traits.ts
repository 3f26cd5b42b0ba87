/**
 * Trait merging: each profile (or account) keeps, per trait path, the newest write with provenance.
 *
 * Semantics (chosen so that the result depends only on the SET of writes, never on arrival order):
 * - identify traits are written per leaf: `{ address: { city: 'Oslo' } }` writes `address.city` only,
 *   leaving `address.zip` alone. Arrays and scalars are leaves. An empty object writes nothing.
 * - `null` is an explicit unset: it records a tombstone at its path (and clears older values below it),
 *   so an older value arriving later cannot resurrect the trait. Like any write below a path, it says
 *   the parent is an object: `{ a: { b: null } }` over an older scalar `a` leaves `a` unset.
 * - Newer wins: writes are ordered by event time, then sourceId, messageId and value (a total order), so
 *   a late historical import never overwrites a newer value and ties resolve the same everywhere.
 * - Writing a path replaces an older value at any ancestor (`a = 5`, then `a.b = 1` gives `{a: {b: 1}}`),
 *   and an older write under a newer ancestor write is dead (`a.b = 1`, then `a = 5` gives `{a: 5}`).
 * Merging two trait maps applies one's writes to the other: commutative, and no newest value is lost.
 * Functions named `write…`/`…Into` mutate the map they are given (the processor's cached copy).
 */
import type { EventHeader, JsonObject, TrackedEvent } from '../event/event.ts';

/** One stored trait write. `value` is a JSON leaf (scalar or array) or null for "unset". */
export interface TraitEntry {
  value: unknown;
  at: number;
  sourceId: string;
  messageId: string;
}

export interface TraitProvenance {
  at: number;
  sourceId: string;
  messageId: string;
}

/** Encoded path (see `traitPath`) → newest live write there. */
export type TraitMap = Map<string, TraitEntry>;

/** Segments joined with `.`; a `~` in a key is written `~0` and a `.` is written `~1`. */
export function traitPath(segments: readonly string[]): string {
  return segments.map((s) => s.replaceAll('~', '~0').replaceAll('.', '~1')).join('.');
}

export function splitTraitPath(path: string): string[] {
  return path.split('.').map((s) => s.replaceAll('~1', '.').replaceAll('~0', '~'));
}

const isPlainObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether `a` wins over `b` (strictly) in the total order of writes. */
export function isNewer(a: TraitEntry, b: TraitEntry): boolean {
  if (a.at !== b.at) return a.at > b.at;
  if (a.sourceId !== b.sourceId) return a.sourceId > b.sourceId;
  if (a.messageId !== b.messageId) return a.messageId > b.messageId;
  if (a.value === b.value) return false;
  return (JSON.stringify(a.value) ?? '') > (JSON.stringify(b.value) ?? '');
}

/** Record one write at an encoded path. Returns false when it loses to what is stored (nothing changes). */
export function writeTrait(map: TraitMap, path: string, entry: TraitEntry): boolean {
  const existing = map.get(path);
  if (existing !== undefined && !isNewer(entry, existing)) return false;
  for (let i = path.indexOf('.'); i !== -1; i = path.indexOf('.', i + 1)) {
    const ancestor = map.get(path.slice(0, i));
    if (ancestor !== undefined && isNewer(ancestor, entry)) return false;
  }
  const prefix = `${path}.`;
  for (const [key, e] of map) if (key.startsWith(prefix) && isNewer(entry, e)) map.delete(key);
  map.set(path, entry);
  return true;
}

/** Write a traits object (identify/group `traits`) per leaf. Returns how many writes were kept. */
export function writeTraits(map: TraitMap, traits: JsonObject, provenance: TraitProvenance): number {
  let kept = 0;
  const walk = (obj: JsonObject, prefix: string): void => {
    for (const key of Object.keys(obj)) {
      const value = obj[key];
      if (value === undefined) continue;
      const segment = key.replaceAll('~', '~0').replaceAll('.', '~1');
      const path = prefix === '' ? segment : `${prefix}.${segment}`;
      if (isPlainObject(value)) walk(value, path);
      else if (writeTrait(map, path, { value, at: provenance.at, sourceId: provenance.sourceId, messageId: provenance.messageId })) kept++;
    }
  };
  walk(traits, '');
  return kept;
}

/** Apply every write of `source` to `target` (profile merge: `target` is the survivor's map). */
export function mergeTraitsInto(target: TraitMap, source: TraitMap): void {
  for (const [path, entry] of source) writeTrait(target, path, entry);
}

/** A new map holding the merge of `a` and `b`; `mergeTraits(a, b)` equals `mergeTraits(b, a)`. */
export function mergeTraits(a: TraitMap, b: TraitMap): TraitMap {
  const merged: TraitMap = new Map(a);
  mergeTraitsInto(merged, b);
  return merged;
}

function setOwn(obj: JsonObject, key: string, value: unknown): void {
  // defineProperty, not assignment: a trait named `__proto__` must stay a plain key.
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * The traits as a nested object. An entry with entries below it is hidden (those are newer: older ones
 * were removed when written, so the path is now an object); tombstones are omitted.
 */
export function materialiseTraits(map: TraitMap): JsonObject {
  const hasBelow = new Set<string>();
  for (const path of map.keys()) {
    for (let i = path.indexOf('.'); i !== -1; i = path.indexOf('.', i + 1)) hasBelow.add(path.slice(0, i));
  }
  const out: JsonObject = {};
  const paths = [...map.keys()].sort();
  for (const path of paths) {
    const e = map.get(path) as TraitEntry;
    if (e.value === null || hasBelow.has(path)) continue;
    const segments = splitTraitPath(path);
    let node = out;
    for (let i = 0; i < segments.length - 1; i++) {
      const s = segments[i] as string;
      let next = Object.hasOwn(node, s) ? node[s] : undefined;
      if (!isPlainObject(next)) setOwn(node, s, (next = {}));
      node = next as JsonObject;
    }
    setOwn(node, segments[segments.length - 1] as string, e.value);
  }
  return out;
}

/** For storage as JSON: own keys only, so `__proto__` survives the round trip. */
export function traitsToRecord(map: TraitMap): Record<string, TraitEntry> {
  return Object.fromEntries(map);
}

export function traitsFromRecord(record: Record<string, TraitEntry>): TraitMap {
  return new Map(Object.entries(record));
}

export type TraitUpdate = { target: 'profile'; traits: JsonObject } | { target: 'group'; groupId: string; traits: JsonObject };

/**
 * The trait write an event asks for: identify `traits` go to the person's profile, group `traits` to
 * the account `groupId`. Other events (and `context.traits`) do not change stored traits.
 */
export function traitUpdateOf(event: Pick<TrackedEvent, 'type' | 'message'>): TraitUpdate | null {
  const traits = event.message.traits;
  if (!isPlainObject(traits)) return null;
  if (event.type === 'identify') return { target: 'profile', traits };
  if (event.type === 'group') {
    const g = event.message.groupId;
    if (typeof g === 'string' || typeof g === 'number') return { target: 'group', groupId: String(g), traits };
  }
  return null;
}

export function provenanceOf(event: EventHeader): TraitProvenance {
  return { at: event.timestamp, sourceId: event.sourceId, messageId: event.messageId };
}
