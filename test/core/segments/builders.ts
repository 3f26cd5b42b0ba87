/** Builders in the domain's words: events at explicit times, profiles, rules from text. */
import assert from 'node:assert/strict';
import type { Condition } from '../../../src/core/segments/definition.ts';
import type { ProfileEvent, ProfileSnapshot } from '../../../src/core/segments/profile.ts';
import { parseRule } from '../../../src/core/segments/parser.ts';

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** The scenarios' clock starts here: 2026-03-01T00:00:00Z. */
export const T0 = Date.UTC(2026, 2, 1);

/** A track event `name` at time `at`. */
export function aTrack(name: string, at: number, properties: Record<string, unknown> = {}): ProfileEvent {
  return { name, type: 'track', timestamp: at, properties };
}

export function aPage(name: string | null, at: number, properties: Record<string, unknown> = {}): ProfileEvent {
  return { name, type: 'page', timestamp: at, properties };
}

export function aProfile(
  parts: Partial<{ traits: Record<string, unknown>; events: ProfileEvent[]; segments: string[] }> = {},
): ProfileSnapshot {
  return { traits: parts.traits ?? {}, events: parts.events ?? [], segments: new Set(parts.segments ?? []) };
}

/** Parse a rule written as text; the test fails loudly if it does not parse. */
export function rule(text: string): Condition {
  const result = parseRule(text);
  assert.ok(result.ok, `rule did not parse: ${JSON.stringify(result)}`);
  return result.value;
}
