/**
 * The specification of the real-time engine as one property: driven ONLY by events as they arrive and
 * by due timers fired at their due instant as the clock passes them, the engine always holds exactly
 * the memberships and computed trait values that a from-scratch evaluation of the whole history gives,
 * whatever the segments (windows, funnels, absences, relative dates, segments of segments, computed
 * traits) and whatever happens (late events, future-stamped events, trait updates, merges).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { printRule } from '../../../../src/core/segments/printer.ts';
import { T0 } from '../builders.ts';
import { computedTraitSets, segmentSets, steps, type Step } from './arbitraries.ts';
import { AudienceHarness, reference, type Definitions } from './harness.ts';

const iso = (t: number) => new Date(t).toISOString();

function describeSet(defs: Definitions): string {
  const segments = defs.segments.map((s) => `${s.id}: ${printRule(s.rule as never)}`);
  const traits = (defs.computedTraits ?? []).map((t) => JSON.stringify(t.definition));
  return [...segments, ...traits].join('\n  ');
}

function apply(h: AudienceHarness, step: Step): void {
  switch (step.kind) {
    case 'event': {
      const { v, d } = step.properties;
      const properties = { ...(v === undefined ? {} : { v }), ...(typeof d === 'number' ? { d: h.now + d } : {}) };
      h.track(step.profile, { name: step.name, type: step.type, timestamp: h.now + step.offset, properties });
      return;
    }
    case 'identify':
      h.identify(step.profile, { ...step.traits, ...(step.dOffset === null ? {} : { d: iso(h.now + step.dOffset) }) });
      return;
    case 'advance':
      h.advanceTo(h.now + step.ms);
      return;
    case 'merge':
      if (h.profiles.has('p2')) h.merge('p1', 'p2');
      return;
    default: {
      const _never: never = step;
      return _never;
    }
  }
}

function assertAgrees(h: AudienceHarness, profileId: string, context: () => string): void {
  const p = h.profile(profileId);
  const expected = reference(h.compiled, h.defs, p, h.now);
  assert.deepEqual(h.segmentsOf(profileId), expected.segments, `memberships of ${profileId} at ${iso(h.now)}\n${context()}`);
  assert.deepEqual(p.computed, expected.computed, `computed traits of ${profileId} at ${iso(h.now)}\n${context()}`);
  for (const since of p.memberships.values()) assert.ok(since <= h.now);
}

describe('the real-time engine agrees with a from-scratch evaluation at every step', () => {
  it('events as they arrive and timers as they fall due keep memberships and computed traits exact', () => {
    fc.assert(
      fc.property(segmentSets, computedTraitSets, steps, (segments, computedTraits, stream) => {
        const defs: Definitions = { segments, computedTraits };
        const h = new AudienceHarness(defs, T0);
        const log: string[] = [];
        const context = () => `segments:\n  ${describeSet(defs)}\nsteps:\n  ${log.join('\n  ')}`;
        // After every plan, including every timer batch fired on the way through an advance.
        h.onApplied = (profileId) => assertAgrees(h, profileId, context);
        for (const step of stream) {
          log.push(`${iso(h.now)} ${JSON.stringify(step)}`);
          apply(h, step);
          // Between timers nothing may change: check every profile at the instant the clock stopped.
          for (const id of h.profiles.keys()) assertAgrees(h, id, context);
        }
        // Every change still to come is scheduled: fire them all, then check once more far ahead.
        h.advanceTo(h.now + 30 * 86_400_000);
        for (const id of h.profiles.keys()) assertAgrees(h, id, context);
      }),
      { numRuns: 500 },
    );
  });
});
