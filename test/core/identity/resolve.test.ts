import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  compileRules,
  DEFAULT_RULES,
  IdentityGraph,
  profileIdFor,
  RebuildScope,
  unmerge,
  uuidv5,
  type Identifier,
  type IdentityFact,
  type LinkFact,
} from '../../../src/core/identity/index.ts';
import { DAY, HOUR, T0 } from './builders.ts';

let seq = 0;
const id = (key: string): Identifier => {
  const i = key.indexOf(':');
  return { type: key.slice(0, i), value: key.slice(i + 1) };
};
/** A link fact from identifier keys: `link(T0, 'user_id:u1', 'email:a@b.co')`. */
const link = (at: number, ...keys: string[]): LinkFact => ({
  kind: 'link',
  identifiers: keys.map(id),
  eventMessageId: `m${++seq}`,
  sourceId: 'web',
  at,
  seq,
});

describe('IdentityGraph.apply', () => {
  it('creates, adds to and merges profiles, reporting each as a plan', () => {
    const g = new IdentityGraph();
    const first = g.apply(link(T0, 'anonymous_id:a1'), DEFAULT_RULES);
    assert.equal(first.created, true);
    assert.equal(first.profileId, profileIdFor(id('anonymous_id:a1')));
    const second = g.apply(link(T0 + HOUR, 'anonymous_id:a2', 'email:x@y.co'), DEFAULT_RULES);
    const third = g.apply(link(T0 + 2 * HOUR, 'anonymous_id:a2', 'anonymous_id:a1', 'user_id:u1'), DEFAULT_RULES);
    assert.equal(third.profileId, first.profileId, 'the oldest profile survives');
    assert.deepEqual(third.mergedFrom, [second.profileId]);
    assert.deepEqual(third.addedIdentifiers, [id('user_id:u1')]);
    assert.equal(g.resolveProfileId(second.profileId as string), first.profileId);
    assert.equal(g.size, 1);
    const snap = g.snapshot(second.profileId as string);
    assert.equal(snap?.mergeCount, 1);
    assert.deepEqual(
      snap?.identifiers.map((r) => r.identifier.type),
      ['user_id', 'email', 'anonymous_id', 'anonymous_id'],
    );
  });

  it('derives profile ids deterministically (UUIDv5 of the first identifier in canonical order)', () => {
    const a = new IdentityGraph().apply(link(T0, 'anonymous_id:a1', 'user_id:u1'), DEFAULT_RULES);
    const b = new IdentityGraph().apply(link(T0 + DAY, 'user_id:u1', 'anonymous_id:a1'), DEFAULT_RULES);
    assert.equal(a.profileId, b.profileId);
    assert.equal(a.profileId, profileIdFor(id('user_id:u1')));
    assert.match(a.profileId as string, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // RFC 9562 test vector: UUIDv5 of "www.example.com" in the DNS namespace.
    assert.equal(uuidv5('www.example.com', Buffer.from('6ba7b8109dad11d180b400c04fd430c8', 'hex')), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('prefers the survivor with the earliest first sighting, even when it arrived later', () => {
    const g = new IdentityGraph();
    const late = g.apply(link(T0 + DAY, 'anonymous_id:b'), DEFAULT_RULES);
    const early = g.apply(link(T0, 'anonymous_id:a'), DEFAULT_RULES);
    const merged = g.apply(link(T0 + 2 * DAY, 'anonymous_id:a', 'anonymous_id:b'), DEFAULT_RULES);
    assert.equal(merged.profileId, early.profileId);
    assert.deepEqual(merged.mergedFrom, [late.profileId]);
  });

  it('windowed limits count only values first seen within the window', () => {
    const rules = compileRules({ identifiers: { anonymous_id: { limit: 2, limitWindowMs: DAY } } });
    const g = new IdentityGraph();
    g.apply(link(T0, 'user_id:u1', 'anonymous_id:a1'), rules);
    g.apply(link(T0 + HOUR, 'user_id:u1', 'anonymous_id:a2'), rules);
    const third = g.apply(link(T0 + 2 * HOUR, 'user_id:u1', 'anonymous_id:a3'), rules);
    assert.deepEqual(third.droppedIdentifiers, [{ identifier: id('anonymous_id:a3'), reason: 'limit_exceeded' }]);
    const nextWeek = g.apply(link(T0 + 7 * DAY, 'user_id:u1', 'anonymous_id:a4'), rules);
    assert.deepEqual(nextWeek.addedIdentifiers, [id('anonymous_id:a4')]);
  });

  it('refuses merges past the merge cap and growth past the identifier cap', () => {
    const rules = compileRules({ maxMerges: 1, maxIdentifiers: 3 });
    const g = new IdentityGraph();
    g.apply(link(T0, 'anonymous_id:a'), rules);
    g.apply(link(T0, 'anonymous_id:b'), rules);
    g.apply(link(T0, 'anonymous_id:c'), rules);
    assert.deepEqual(g.apply(link(T0 + 1, 'anonymous_id:a', 'anonymous_id:b'), rules).mergedFrom.length, 1);
    const capped = g.apply(link(T0 + 2, 'anonymous_id:a', 'anonymous_id:c'), rules);
    assert.deepEqual(
      capped.warnings.map((w) => w.code),
      ['merge_cap'],
    );
    assert.equal(g.size, 2);
    g.apply(link(T0 + 3, 'anonymous_id:a', 'device_id:d1'), rules);
    // Full: the event's weakest identifier (the known anonymous id) is dropped, so d2 starts a new profile.
    const full = g.apply(link(T0 + 4, 'anonymous_id:a', 'device_id:d2'), rules);
    assert.deepEqual(full.droppedIdentifiers, [{ identifier: id('anonymous_id:a'), reason: 'identifier_cap' }]);
    assert.equal(full.created, true);
  });

  it('drops junk and blocked values with a warning and keeps the rest', () => {
    const rules = compileRules({ identifiers: { email: { blocked: ['test@example.com'] } } });
    const out = new IdentityGraph().apply(link(T0, 'anonymous_id:null', 'email:test@example.com', 'user_id:u1'), rules);
    assert.deepEqual(
      out.droppedIdentifiers.map((d) => d.reason),
      ['junk_value', 'blocked_value'],
    );
    assert.deepEqual(out.addedIdentifiers, [id('user_id:u1')]);
  });

  it('operator merges waive type limits but warn about unknown profiles', () => {
    const g = new IdentityGraph();
    const a = g.apply(link(T0, 'user_id:u1'), DEFAULT_RULES).profileId as string;
    const b = g.apply(link(T0 + 1, 'user_id:u2'), DEFAULT_RULES).profileId as string;
    const merged = g.apply(
      {
        kind: 'merge',
        profileA: a,
        profileB: b,
        anchorA: id('user_id:u1'),
        anchorB: id('user_id:u2'),
        reason: 'same person',
        at: T0 + 2,
        seq: ++seq,
      },
      DEFAULT_RULES,
    );
    assert.deepEqual(merged.mergedFrom, [b]);
    const unknown = g.apply(
      {
        kind: 'merge',
        profileA: a,
        profileB: 'nope',
        anchorA: id('user_id:u1'),
        anchorB: id('user_id:zz'),
        reason: 'x',
        at: T0 + 3,
        seq: ++seq,
      },
      DEFAULT_RULES,
    );
    assert.deepEqual(
      unknown.warnings.map((w) => w.code),
      ['unknown_profile'],
    );
    // Already over the limit after the operator merge: a known user id still matches without a warning.
    assert.deepEqual(g.apply(link(T0 + 4, 'user_id:u2', 'anonymous_id:x'), DEFAULT_RULES).warnings, []);
  });
});

describe('IdentityGraph cache: load, snapshot, evict', () => {
  it('a profile hydrated from a snapshot behaves like the original', () => {
    const original = new IdentityGraph();
    original.apply(link(T0, 'user_id:u1', 'email:a@b.co'), DEFAULT_RULES);
    original.apply(link(T0, 'anonymous_id:x'), DEFAULT_RULES);
    const merged = original.apply(link(T0 + 1, 'email:a@b.co', 'anonymous_id:x'), DEFAULT_RULES);
    const snapshot = original.snapshot(merged.profileId as string);
    assert.ok(snapshot !== undefined);
    const cache = new IdentityGraph();
    cache.load(JSON.parse(JSON.stringify(snapshot)));
    assert.deepEqual(cache.snapshot(snapshot.id), snapshot);
    assert.equal(cache.resolveProfileId(merged.mergedFrom[0] as string), snapshot.id);
    const next = link(T0 + 2, 'user_id:u2', 'email:a@b.co');
    assert.deepEqual(cache.apply(next, DEFAULT_RULES), original.apply(next, DEFAULT_RULES));
    assert.equal(cache.evict(snapshot.id), true);
    assert.equal(cache.profileOf(id('email:a@b.co')), undefined);
    assert.equal(cache.resolveProfileId(merged.mergedFrom[0] as string), undefined);
  });

  it('refuses to load a profile that overlaps another cached one', () => {
    const g = new IdentityGraph();
    g.apply(link(T0, 'user_id:u1'), DEFAULT_RULES);
    const snap = {
      id: 'other',
      firstSeen: T0,
      mergeCount: 0,
      absorbed: [],
      identifiers: [{ identifier: id('user_id:u1'), firstSeen: T0, broughtBy: { seq: 1, eventMessageId: 'm', sourceId: 's' } }],
    };
    assert.throws(() => g.load(snap), /already held/);
  });
});

describe('unmerge', () => {
  it('fails loudly when the scope facts do not cover the profile', () => {
    const rules = compileRules({ identifiers: { user_id: { limit: 5 } } });
    const g = new IdentityGraph();
    const facts: IdentityFact[] = [
      link(T0, 'user_id:u1', 'anonymous_id:a'),
      link(T0 + 1, 'user_id:u2', 'anonymous_id:a'),
      link(T0 + 2, 'user_id:u2', 'email:b@c.co'),
    ];
    for (const f of facts) if (f.kind === 'link') g.apply(f, rules);
    const fact: IdentityFact = { kind: 'unmerge', identifier: id('user_id:u2'), reason: 'x', at: T0 + 3, seq: ++seq };
    assert.throws(() => unmerge(g, fact, facts.slice(0, 2), rules), /scope incomplete/);
    assert.equal(g.size, 1, 'nothing changed');
    const scope = new RebuildScope(id('user_id:u2'), rules);
    for (let keys = scope.takePending(); keys.length > 0; keys = scope.takePending()) scope.addFacts(facts);
    assert.deepEqual([...scope.keys].sort(), ['anonymous_id:a', 'email:b@c.co', 'user_id:u1', 'user_id:u2']);
    const out = unmerge(g, fact, scope.facts, rules);
    assert.equal(g.size, 2);
    assert.deepEqual(out.warnings, []);
    assert.equal(out.events.length, 3);
  });

  it('reports an unknown identifier as a no-op', () => {
    const out = unmerge(
      new IdentityGraph(),
      { kind: 'unmerge', identifier: id('user_id:zz'), reason: 'x', at: T0, seq: ++seq },
      [],
      DEFAULT_RULES,
    );
    assert.deepEqual(
      out.warnings.map((w) => w.code),
      ['unmerge_noop'],
    );
  });
});
