/**
 * What each comparator means. Shared by trait, property and reducer comparisons, so a comparator means
 * the same thing everywhere.
 */
import type { Comparison, Scalar } from './definition.ts';
import { durationMs, parseInstant, toInstant } from './time.ts';

/** `undefined` (absent) and `null` both mean "no value". */
export function hasValue(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function sameScalar(a: unknown, b: Scalar): boolean {
  return a === b;
}

function ordered(a: unknown, b: Scalar, test: (sign: number) => boolean): boolean {
  if (typeof a === 'number' && typeof b === 'number') return test(Math.sign(a - b));
  if (typeof a === 'string' && typeof b === 'string') return test(a < b ? -1 : a > b ? 1 : 0);
  return false;
}

function contains(haystack: unknown, needle: string): boolean | undefined {
  if (typeof haystack === 'string') return haystack.includes(needle);
  if (Array.isArray(haystack)) return haystack.includes(needle);
  return undefined;
}

/**
 * Does `value` satisfy the comparison at time `now`?
 * - No value (absent or null) satisfies only `is_null` (and `= null`, which means the same).
 * - `= null` is `is_null`, `!= null` is `is_set`; otherwise `=` is strict equality (no conversion:
 *   `'5'` is not `5`) and `!=` is "has a value that is not equal".
 * - `> >= < <=` compare two numbers, or two strings by code unit; anything else is false.
 * - `contains`/`omits`/`contains_one` work on a string (substring) or an array (element);
 *   `starts_with`/`ends_with` on strings only.
 * - Date comparators read the value as an instant (epoch ms number or ISO-8601 string, UTC by default).
 *   Relative ones split the timeline around `now` into four parts, each closed at its newer end:
 *   before_last(N): t <= now - N;  within_last(N): now - N < t <= now;
 *   within_next(N): now < t <= now + N;  after_next(N): t > now + N.
 */
export function compare(value: unknown, c: Comparison, now: number): boolean {
  if (c.op === 'is_null') return !hasValue(value);
  if ((c.op === '=' || c.op === '!=') && c.value === null) return (c.op === '!=') === hasValue(value);
  return hasValue(value) && comparePresent(value, c, now);
}

function comparePresent(value: unknown, c: Comparison, now: number): boolean {
  switch (c.op) {
    case 'is_set':
      return true;
    case 'is_null':
      return false;
    case '=':
      return sameScalar(value, c.value);
    case '!=':
      return !sameScalar(value, c.value);
    case '>':
      return ordered(value, c.value, (s) => s > 0);
    case '>=':
      return ordered(value, c.value, (s) => s >= 0);
    case '<':
      return ordered(value, c.value, (s) => s < 0);
    case '<=':
      return ordered(value, c.value, (s) => s <= 0);
    case 'contains':
      return contains(value, c.value) === true;
    case 'omits':
      return contains(value, c.value) === false;
    case 'starts_with':
      return typeof value === 'string' && value.startsWith(c.value);
    case 'ends_with':
      return typeof value === 'string' && value.endsWith(c.value);
    case 'one_of':
      return c.values.some((v) => sameScalar(value, v));
    case 'contains_one':
      return c.values.some((v) => contains(value, v) === true);
    case 'before_date':
    case 'after_date': {
      const t = toInstant(value);
      const bound = parseInstant(c.date);
      if (t === undefined || bound === undefined) return false;
      return c.op === 'before_date' ? t < bound : t > bound;
    }
    case 'within_last':
    case 'before_last':
    case 'within_next':
    case 'after_next': {
      const t = toInstant(value);
      if (t === undefined) return false;
      const span = durationMs(c.amount, c.unit);
      // Written as conditions on `now`, with the exact sums comparisonChangeTimes reports.
      if (c.op === 'before_last') return now >= t + span;
      if (c.op === 'within_last') return t <= now && now < t + span;
      if (c.op === 'within_next') return t - span <= now && now < t;
      return now < t - span;
    }
    default: {
      const _never: never = c;
      return _never;
    }
  }
}

/**
 * The instants at which `compare(value, c, now)` may change as `now` moves on, the value staying put.
 * Only relative date comparators depend on `now`; each changes where its part of the timeline starts.
 */
export function comparisonChangeTimes(value: unknown, c: Comparison): number[] {
  if (c.op !== 'within_last' && c.op !== 'before_last' && c.op !== 'within_next' && c.op !== 'after_next') return [];
  const t = toInstant(value);
  if (t === undefined) return [];
  const span = durationMs(c.amount, c.unit);
  return [t - span, t, t + span];
}
