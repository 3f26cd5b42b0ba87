/**
 * How a set of events becomes one value. Shared by segment reducers and computed traits, so `mode()` and
 * "most frequent" break ties the same way.
 */
import type { Reducer } from './definition.ts';
import { hasValue } from './compare.ts';
import { valueAt, type ProfileEvent } from './profile.ts';

/** A value that can be counted, listed and ordered: string, finite number or boolean. */
export type Plain = string | number | boolean;

export function isPlain(v: unknown): v is Plain {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

const TYPE_RANK = { boolean: 0, number: 1, string: 2 } as const;

/** A total order: booleans, then numbers (numerically), then strings (by code unit, i.e. alphabetical). */
export function comparePlain(a: Plain, b: Plain): number {
  const ra = TYPE_RANK[typeof a as keyof typeof TYPE_RANK];
  const rb = TYPE_RANK[typeof b as keyof typeof TYPE_RANK];
  if (ra !== rb) return ra - rb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Events in time order; events at the same instant keep their order in the history. */
export function inTimeOrder(events: readonly ProfileEvent[]): ProfileEvent[] {
  return events
    .map((e, i) => ({ e, i }))
    .sort((x, y) => x.e.timestamp - y.e.timestamp || x.i - y.i)
    .map((x) => x.e);
}

/** The property's values, in time order, skipping events where it has no value. */
export function propertyValues(events: readonly ProfileEvent[], property: string): unknown[] {
  return inTimeOrder(events)
    .map((e) => valueAt(e.properties, property))
    .filter(hasValue);
}

function numbers(values: readonly unknown[]): number[] {
  return values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
}

/** How often each plain value occurs (`5` and `'5'` are different values). */
function tally(values: readonly unknown[]): Map<string, { value: Plain; count: number }> {
  const counts = new Map<string, { value: Plain; count: number }>();
  for (const v of values) {
    if (!isPlain(v)) continue;
    const key = `${typeof v}:${String(v)}`;
    const entry = counts.get(key);
    if (entry) entry.count += 1;
    else counts.set(key, { value: v, count: 1 });
  }
  return counts;
}

/** The distinct plain values, in ascending order (see comparePlain). Objects and arrays are not counted. */
export function distinctPlain(values: readonly unknown[]): Plain[] {
  return [...tally(values).values()].map((e) => e.value).sort(comparePlain);
}

/** The most frequent plain value seen at least `minCount` times; a tie goes to the smallest value. */
export function mostFrequent(values: readonly unknown[], minCount: number): Plain | undefined {
  let best: { value: Plain; count: number } | undefined;
  for (const entry of tally(values).values()) {
    if (entry.count < minCount) continue;
    if (!best || entry.count > best.count || (entry.count === best.count && comparePlain(entry.value, best.value) < 0)) {
      best = entry;
    }
  }
  return best?.value;
}

export function sum(values: readonly unknown[]): number {
  return numbers(values).reduce((a, b) => a + b, 0);
}

export function average(values: readonly unknown[]): number | undefined {
  const ns = numbers(values);
  return ns.length === 0 ? undefined : sum(ns) / ns.length;
}

export function extreme(values: readonly unknown[], which: 'min' | 'max'): number | undefined {
  const ns = numbers(values);
  if (ns.length === 0) return undefined;
  return ns.reduce((a, b) => (which === 'min' ? Math.min(a, b) : Math.max(a, b)));
}

/**
 * Reduce the events that passed a condition's filter and window to one value.
 * - count(): how many events; sum(): total of the numeric values (0 when there are none);
 * - avg/min/max: over numeric values only; undefined when there are none;
 * - first()/last(): the earliest/latest event's time (ms); with a property, that property's value in the
 *   earliest/latest event that has one;
 * - unique(p): how many distinct plain values p takes; mode(p): its most frequent plain value, ties to the
 *   smallest (alphabetical for strings), undefined when there are none.
 */
export function reduce(reducer: Reducer, events: readonly ProfileEvent[]): unknown {
  switch (reducer.fn) {
    case 'count':
      return events.length;
    case 'sum':
      return sum(propertyValues(events, reducer.property));
    case 'avg':
      return average(propertyValues(events, reducer.property));
    case 'min':
    case 'max':
      return extreme(propertyValues(events, reducer.property), reducer.fn);
    case 'unique':
      return distinctPlain(propertyValues(events, reducer.property)).length;
    case 'mode':
      return mostFrequent(propertyValues(events, reducer.property), 1);
    case 'first':
    case 'last': {
      if (reducer.property === undefined) {
        const ordered = inTimeOrder(events);
        return (reducer.fn === 'first' ? ordered[0] : ordered[ordered.length - 1])?.timestamp;
      }
      const values = propertyValues(events, reducer.property);
      return reducer.fn === 'first' ? values[0] : values[values.length - 1];
    }
    default: {
      const _never: never = reducer;
      return _never;
    }
  }
}
