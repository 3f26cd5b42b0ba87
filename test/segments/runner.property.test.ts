/**
 * The runner against the specification: whatever the segments and computed traits (windows, funnels,
 * absences, relative dates, segments of segments), whatever happens (late and future-stamped events,
 * trait updates, merges, clock advances) and whether the definitions were backfilled over existing
 * data or followed events in real time, the stored memberships and computed values are what the
 * reference evaluators give over each profile's whole stored history, at every instant the clock stops.
 * In the `batched` pace, messages pile up between the runner's turns and it takes them a few per step
 * (its events limit): histories it keeps between steps then grow from the steps' own events.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { compileAudiences } from '../../src/core/segments/index.ts';
import { printRule } from '../../src/core/segments/printer.ts';
import { computedTraitSets, segmentSets, steps, type Step } from '../core/segments/engine/arbitraries.ts';
import { reference } from '../core/segments/engine/harness.ts';
import { T0 } from '../core/segments/builders.ts';
import { World } from './world.ts';

const iso = (t: number) => new Date(t).toISOString();
/** p1 is a known user, p2 an anonymous visitor; a merge is p1 logging in on p2's device. */
const who = (profile: string) => (profile === 'p1' ? { userId: 'p1' } : { anonymousId: 'p2' });

/** Apply one step; with `deliverOnly`, messages go through the processor but the runner is not run. */
async function apply(w: World, step: Step, deliverOnly = false): Promise<void> {
  const send = (...messages: Array<Record<string, unknown>>) => (deliverOnly ? w.deliver(...messages) : w.send(...messages));
  switch (step.kind) {
    case 'event': {
      const { v, d } = step.properties;
      const properties = { ...(v === undefined ? {} : { v }), ...(typeof d === 'number' ? { d: w.now + d } : {}) };
      const name = step.type === 'track' ? { event: step.name } : { name: step.name };
      await send({ type: step.type, ...who(step.profile), ...name, properties, timestamp: iso(w.now + step.offset) });
      return;
    }
    case 'identify': {
      const traits = { ...step.traits, ...(step.dOffset === null ? {} : { d: iso(w.now + step.dOffset) }) };
      await send({ type: 'identify', ...who(step.profile), traits, timestamp: iso(w.now) });
      return;
    }
    case 'advance':
      await w.advanceTo(w.now + step.ms);
      return;
    case 'merge':
      await send({ type: 'identify', userId: 'p1', anonymousId: 'p2', timestamp: iso(w.now) });
      return;
    default: {
      const _never: never = step;
      return _never;
    }
  }
}

const worlds: World[] = [];
after(async () => {
  for (const w of worlds) await w.close().catch(() => {});
});

describe('the runner agrees with the reference evaluators', () => {
  it('after backfill and in real time, memberships and computed values equal a from-scratch evaluation', async () => {
    await fc.assert(
      fc.asyncProperty(
        segmentSets,
        computedTraitSets,
        steps,
        fc.nat({ max: 30 }),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom('each', 'batched'),
        fc.integer({ min: 1, max: 3 }),
        async (segments, computedTraits, stream, defineAt, chunk, pace, perStep) => {
          const w = await World.open({ now: T0, limits: { backfillChunk: chunk, ...(pace === 'batched' ? { events: perStep } : {}) } });
          worlds.push(w);
          const compiled = compileAudiences(segments, computedTraits);
          assert.ok(compiled.ok);
          const defs = { segments, computedTraits };
          const log: string[] = [];
          const context = () =>
            `segments:\n  ${segments.map((s) => `${s.id}: ${printRule(s.rule)}`).join('\n  ')}\n  ${computedTraits.map((t) => JSON.stringify(t.definition)).join('\n  ')}\nsteps:\n  ${log.join('\n  ')}`;
          let defined = false;
          const define = async () => {
            // Traits first (segments may read them), then segments in dependency order: a rule may only
            // include segments that exist.
            for (const t of computedTraits) await w.segments.createTrait({ id: t.id, name: t.id, definition: t.definition });
            for (const s of compiled.value.segments) await w.segments.create({ id: s.id, name: s.id, definition: s.rule });
            await w.runner.runUntilIdle();
            defined = true;
            log.push(`${iso(w.now)} (definitions created)`);
          };
          const check = async () => {
            if (!defined) return;
            for (const id of await w.segmentStore.profileIdsAfter('', 100)) {
              const p = (await w.segmentStore.loadProfiles([id])).get(id);
              assert.ok(p);
              const expected = reference(compiled.value, defs, p, w.now);
              assert.deepEqual([...p.memberships.keys()].sort(), expected.segments, `memberships of ${id} at ${iso(w.now)}\n${context()}`);
              assert.deepEqual(p.computed, expected.computed, `computed values of ${id} at ${iso(w.now)}\n${context()}`);
            }
          };
          for (const [i, step] of stream.entries()) {
            if (i === defineAt) await define();
            log.push(`${iso(w.now)} ${JSON.stringify(step)}${pace === 'batched' ? ` (${perStep} events a step)` : ''}`);
            if (pace === 'batched' && step.kind !== 'advance') {
              await apply(w, step, true);
              continue; // the runner takes them at the next advance, or at the end
            }
            await w.runner.runUntilIdle();
            await apply(w, step);
            await check();
          }
          await w.runner.runUntilIdle();
          if (!defined) await define();
          await check();
          await w.advanceTo(w.now + 30 * 86_400_000);
          await check();
          await w.close();
          worlds.pop();
        },
      ),
      { numRuns: Number(process.env.SEGMENT_PROPERTY_RUNS ?? 40) },
    );
  });
});
