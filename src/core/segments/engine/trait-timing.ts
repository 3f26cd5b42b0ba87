/**
 * When a computed trait next changes with time alone, the counterpart of `nextChangeAt` for segments.
 * A computed trait only reads the events its selection keeps, and `selectEvents` reports every instant
 * at which that selection could change; so, as `nextChangeAt` does, we step from one reported instant
 * to the next until the value differs.
 */
import { computeTrait, type ComputedTraitDefinition } from '../computed-traits.ts';
import type { ProfileEvent } from '../profile.ts';
import { EarliestAfter, selectEvents } from '../select.ts';

/** The earliest instant after `now` at which `computeTrait` gives a different value; null if never. */
export function nextTraitChangeAt(def: ComputedTraitDefinition, events: readonly ProfileEvent[], now: number): number | null {
  const initial = computeTrait(def, events, now);
  let t = now;
  for (;;) {
    const next = nextCandidate(def, events, t);
    if (next === null) return null;
    if (!samePlain(computeTrait(def, events, next), initial)) return next;
    t = next;
  }
}

function nextCandidate(def: ComputedTraitDefinition, events: readonly ProfileEvent[], t: number): number | null {
  const marks = new EarliestAfter(t);
  selectEvents(def.event, def.window, def.event.where, undefined, { events, now: t, marks });
  return marks.earliest;
}

/** Structural equality of JSON-like values (computed trait values: scalars, arrays, plain objects). */
export function samePlain(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => samePlain(x, b[i]));
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const rb = b as Record<string, unknown>;
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(rb, k) && samePlain((a as Record<string, unknown>)[k], rb[k]));
}
