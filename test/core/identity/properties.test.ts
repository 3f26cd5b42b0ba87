/** Invariants of identity resolution and trait merging, on generated histories (fast-check). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { JsonObject } from '../../../src/core/event/event.ts';
import {
  compileRules,
  DEFAULT_RULES,
  factIdentifiers,
  identifierKey,
  IdentityGraph,
  isNewer,
  materialiseTraits,
  mergeTraits,
  RebuildScope,
  rebuild,
  rejectionOf,
  splitTraitPath,
  unmerge,
  writeTrait,
  type Identifier,
  type IdentityFact,
  type IdentityRules,
  type ProfileSnapshot,
  type TraitEntry,
  type TraitMap,
} from '../../../src/core/identity/index.ts';
import { T0 } from './builders.ts';
import { groupingOf } from './world.ts';

const RUNS = { numRuns: 200 };

// A small world of identifiers, so that generated events collide often; includes junk values.
const identifierArb: fc.Arbitrary<Identifier> = fc.oneof(
  fc.constantFrom('u0', 'u1', 'u2', 'u3').map((value) => ({ type: 'user_id', value })),
  fc.constantFrom('a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'null', '0').map((value) => ({ type: 'anonymous_id', value })),
  fc.constantFrom('e0@x.io', 'e1@x.io', 'e2@x.io').map((value) => ({ type: 'email', value })),
  fc.constantFrom('d0', 'd1').map((value) => ({ type: 'device_id', value })),
);

type Op =
  | { kind: 'link'; ids: Identifier[]; dt: number }
  | { kind: 'merge'; a: Identifier; b: Identifier; dt: number }
  | { kind: 'unmerge'; x: Identifier; dt: number };

const linkArb = fc.record({
  kind: fc.constant('link' as const),
  ids: fc.array(identifierArb, { minLength: 1, maxLength: 3 }),
  dt: fc.integer({ min: 0, max: 3_600_000 }),
});
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: linkArb },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('merge' as const),
      a: identifierArb,
      b: identifierArb,
      dt: fc.integer({ min: 0, max: 3_600_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('unmerge' as const), x: identifierArb, dt: fc.integer({ min: 0, max: 3_600_000 }) }),
  },
);

/** Link facts with times in any order (arrival order ≠ event time order). */
function linkFacts(links: { ids: Identifier[]; dt: number }[]): IdentityFact[] {
  return links.map((l, i) => ({ kind: 'link', identifiers: l.ids, eventMessageId: `m${i}`, sourceId: 'web', at: T0 + l.dt, seq: i + 1 }));
}

/** Connected components of the facts' usable identifiers: the order-free specification. */
function components(facts: readonly IdentityFact[], rules: IdentityRules): string[][] {
  const parent = new Map<string, string>();
  const find = (k: string): string => {
    let root = k;
    while (parent.get(root) !== root) root = parent.get(root) as string;
    parent.set(k, root);
    return root;
  };
  for (const f of facts) {
    const keys = factIdentifiers(f)
      .filter((id) => rejectionOf(id, rules) === null)
      .map(identifierKey);
    for (const k of keys) if (!parent.has(k)) parent.set(k, k);
    for (const k of keys.slice(1)) parent.set(find(k), find(keys[0] as string));
  }
  const groups = new Map<string, string[]>();
  for (const k of parent.keys()) groups.set(find(k), [...(groups.get(find(k)) ?? []), k]);
  return [...groups.values()].map((g) => g.sort()).sort((a, b) => (a.join(' ') < b.join(' ') ? -1 : 1));
}

/** Run ops incrementally the way a processor would: apply links and merges, unmerge via a rebuild scope. */
function runIncrementally(
  ops: readonly Op[],
  rules: IdentityRules,
  at: (i: number, op: Op) => number,
): { graph: IdentityGraph; facts: IdentityFact[] } {
  const graph = new IdentityGraph();
  const facts: IdentityFact[] = [];
  ops.forEach((op, i) => {
    const seq = i + 1;
    const time = at(i, op);
    if (op.kind === 'link') {
      const fact: IdentityFact = { kind: 'link', identifiers: op.ids, eventMessageId: `m${seq}`, sourceId: 'web', at: time, seq };
      facts.push(fact);
      graph.apply(fact, rules);
    } else if (op.kind === 'merge') {
      const fact: IdentityFact = {
        kind: 'merge',
        profileA: graph.profileOf(op.a) ?? '-',
        profileB: graph.profileOf(op.b) ?? '-',
        anchorA: op.a,
        anchorB: op.b,
        reason: 'test',
        at: time,
        seq,
      };
      facts.push(fact);
      graph.apply(fact, rules);
    } else {
      const scope = new RebuildScope(op.x, rules);
      for (let keys = scope.takePending(); keys.length > 0; keys = scope.takePending()) {
        const wanted = new Set(keys);
        scope.addFacts(facts.filter((f) => factIdentifiers(f).some((id) => wanted.has(identifierKey(id)))));
      }
      const fact: IdentityFact = { kind: 'unmerge', identifier: op.x, reason: 'test', at: time, seq };
      unmerge(graph, fact, scope.facts, rules);
      facts.push(fact);
    }
  });
  return { graph, facts };
}

const snapshots = (g: IdentityGraph): ProfileSnapshot[] => [...g.profileIds()].sort().map((id) => g.snapshot(id) as ProfileSnapshot);

function assertConsistent(g: IdentityGraph): void {
  const owner = new Map<string, string>();
  for (const p of snapshots(g)) {
    assert.ok(p.identifiers.length > 0, 'no empty profile');
    for (const r of p.identifiers) {
      const key = identifierKey(r.identifier);
      assert.equal(owner.get(key), undefined, `${key} is in two profiles`);
      owner.set(key, p.id);
      assert.equal(g.profileOf(r.identifier), p.id);
    }
    for (const a of p.absorbed) assert.equal(g.resolveProfileId(a), p.id, 'absorbed ids redirect to their survivor');
  }
}

describe('identity properties', () => {
  const permissive = compileRules({
    identifiers: Object.fromEntries(['user_id', 'anonymous_id', 'email', 'device_id'].map((t) => [t, { limit: 1000 }])),
    maxMerges: 10_000,
    maxIdentifiers: 10_000,
  });

  it('without limit conflicts, the grouping does not depend on arrival order', () => {
    fc.assert(
      fc.property(
        fc.array(linkArb, { minLength: 1, maxLength: 30 }).chain((links) =>
          fc.tuple(
            fc.constant(links),
            fc.shuffledSubarray(
              links.map((_, i) => i),
              { minLength: links.length, maxLength: links.length },
            ),
          ),
        ),
        ([links, order]) => {
          const facts = linkFacts(links);
          const graph = new IdentityGraph();
          for (const i of order) graph.apply(facts[i] as IdentityFact & { kind: 'link' }, permissive);
          const expected = components(facts, permissive);
          assert.deepEqual(groupingOf(graph), expected);
          assert.deepEqual(groupingOf(rebuild(facts, permissive)), expected);
        },
      ),
      RUNS,
    );
  });

  it('incremental processing (with operator merges and unmerges) equals a rebuild from the facts', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => {
        let clock = T0;
        const { graph, facts } = runIncrementally(ops, DEFAULT_RULES, (_, op) => (clock += op.dt));
        assertConsistent(graph);
        assert.deepEqual(snapshots(graph), snapshots(rebuild(facts, DEFAULT_RULES)));
      }),
      RUNS,
    );
  });

  it('no identifier is ever in two profiles, and limits hold, whatever the order', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 10 * 86_400_000 }), { minLength: 40, maxLength: 40 }),
        (ops, times) => {
          const { graph, facts } = runIncrementally(ops, DEFAULT_RULES, (i) => T0 + (times[i] ?? 0));
          assertConsistent(graph);
          const rebuilt = rebuild(facts, DEFAULT_RULES);
          assertConsistent(rebuilt);
          if (ops.every((op) => op.kind === 'link')) {
            for (const p of snapshots(rebuilt))
              assert.ok(p.identifiers.filter((r) => r.identifier.type === 'user_id').length <= 1, 'one user_id per profile');
          }
        },
      ),
      RUNS,
    );
  });
});

// Traits: writes over a few overlapping paths, so ancestors, descendants and time ties all occur.
// Each write gets its own messageId (one message has one time and never writes both `a` and `a.b`).
type Write = { path: string; entry: TraitEntry };
const writesArb = (side: string): fc.Arbitrary<Write[]> =>
  fc
    .array(
      fc.record({
        path: fc.constantFrom('a', 'a.b', 'a.c', 'a.b.c', 'b', 'c~1d'),
        value: fc.constantFrom<unknown>(1, 2, 'x', null, [1, 2], true),
        at: fc.integer({ min: 0, max: 5 }),
        sourceId: fc.constantFrom('web', 'crm'),
      }),
      { maxLength: 12 },
    )
    .map((ws) => ws.map((w, i) => ({ path: w.path, entry: { value: w.value, at: w.at, sourceId: w.sourceId, messageId: `${side}${i}` } })));

function mapOf(writes: readonly Write[]): TraitMap {
  const m: TraitMap = new Map();
  for (const w of writes) writeTrait(m, w.path, w.entry);
  return m;
}

/** The specification: replay every write in time order on a plain object; prune emptied objects. */
function naiveReplay(writes: readonly Write[]): JsonObject {
  const sorted = [...writes].sort((x, y) => (isNewer(x.entry, y.entry) ? 1 : isNewer(y.entry, x.entry) ? -1 : 0));
  const root: JsonObject = {};
  for (const { path, entry } of sorted) {
    const segments = splitTraitPath(path);
    let node = root;
    for (const s of segments.slice(0, -1)) {
      const next = node[s];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) node[s] = {};
      node = node[s] as JsonObject;
    }
    const last = segments[segments.length - 1] as string;
    if (entry.value === null) delete node[last];
    else node[last] = entry.value;
  }
  const prune = (o: JsonObject): JsonObject => {
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
        prune(v as JsonObject);
        if (Object.keys(v).length === 0) delete o[k];
      }
    }
    return o;
  };
  return prune(root);
}

describe('trait merge properties', () => {
  const related = (p: string, q: string): boolean => p === q || p.startsWith(`${q}.`) || q.startsWith(`${p}.`);

  it('a merge never loses a value: each side survives unless the other has something newer there', () => {
    fc.assert(
      fc.property(writesArb('A'), writesArb('B'), (wa, wb) => {
        const a = mapOf(wa);
        const b = mapOf(wb);
        const merged = mergeTraits(a, b);
        for (const [own, other] of [
          [a, b],
          [b, a],
        ] as const) {
          for (const [path, entry] of own) {
            const beaten = [...other].some(([q, e]) => related(path, q) && isNewer(e, entry));
            if (!beaten) assert.deepEqual(merged.get(path), entry, `${path} lost`);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('merging is commutative and equals replaying every write in time order', () => {
    fc.assert(
      fc.property(writesArb('A'), writesArb('B'), (wa, wb) => {
        const ab = materialiseTraits(mergeTraits(mapOf(wa), mapOf(wb)));
        assert.deepEqual(ab, materialiseTraits(mergeTraits(mapOf(wb), mapOf(wa))));
        assert.deepEqual(ab, naiveReplay([...wa, ...wb]));
        assert.deepEqual(ab, materialiseTraits(mapOf([...wb, ...wa].reverse())));
      }),
      { numRuns: 500 },
    );
  });
});
