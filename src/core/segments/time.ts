/**
 * Durations and instants for the segment language. Every instant is a number of milliseconds since the
 * epoch, in UTC; a date written without an offset is read as UTC, never in the server's time zone.
 */

export const TIME_UNITS = ['seconds', 'minutes', 'hours', 'days', 'weeks'] as const;
export type TimeUnit = (typeof TIME_UNITS)[number];

const UNIT_MS: Record<TimeUnit, number> = {
  seconds: 1_000,
  minutes: 60_000,
  hours: 3_600_000,
  days: 86_400_000,
  weeks: 604_800_000,
};

/** A duration written `30 days`: always a fixed number of milliseconds (a day is 24 hours; no calendar months). */
export function durationMs(amount: number, unit: TimeUnit): number {
  return amount * UNIT_MS[unit];
}

/** The unit named in text; the singular (`1 hour`) is accepted and means the same as the plural. */
export function unitFromWord(word: string): TimeUnit | undefined {
  const plural = word.endsWith('s') ? word : `${word}s`;
  return (TIME_UNITS as readonly string[]).includes(plural) ? (plural as TimeUnit) : undefined;
}

/** `YYYY-MM-DD`, optionally followed by `THH:MM[:SS[.mmm]]` and an offset (`Z` or `±HH:MM`). */
export const ISO_INSTANT_PATTERN = '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?(Z|[+-]\\d{2}:\\d{2})?)?$';
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|([+-])(\d{2}):(\d{2}))?)?$/;

/**
 * Parse an ISO-8601 date or date-time. No offset means UTC. Impossible dates (`2026-02-30`) are refused
 * rather than rolled over, so a typo in a rule is caught when the rule is saved.
 */
export function parseInstant(text: string): number | undefined {
  const m = ISO_INSTANT.exec(text);
  if (!m) return undefined;
  const part = (i: number): number => Number(m[i] ?? '0');
  const [year, month, day, hour, minute, second] = [part(1), part(2), part(3), part(4), part(5), part(6)];
  const millis = Number((m[7] ?? '0').padEnd(3, '0'));
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, millis);
  if (d.getUTCDate() !== day) return undefined;
  const offsetMin = m[9] === undefined ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  if (Math.abs(offsetMin) >= 24 * 60) return undefined;
  return d.getTime() - offsetMin * 60_000;
}

/** A value read as an instant: a finite number is epoch milliseconds, a string must be ISO-8601. */
export function toInstant(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') return parseInstant(value);
  return undefined;
}
