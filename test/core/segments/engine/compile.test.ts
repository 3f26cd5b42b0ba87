/**
 * Compiling an audience set: what is refused (as values), the dependency order, the index of what can
 * affect what, and which rules time alone can change.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileAudiences, historyNeeds, type CompiledAudiences } from '../../../../src/core/segments/engine/compile.ts';
import { isTimeDependent } from '../../../../src/core/segments/engine/reads.ts';
import { evaluateProfile } from '../../../../src/core/segments/engine/plan.ts';
import { aTrack, rule, T0 } from '../builders.ts';

const seg = (id: string, text: string) => ({ id, rule: rule(text) });
const messages = (r: ReturnType<typeof compileAudiences>) => (r.ok ? [] : r.problems.map((p) => p.message));

describe('compileAudiences refuses bad sets with a clear message', () => {
  const cases: Array<[string, Parameters<typeof compileAudiences>, RegExp]> = [
    ['an unknown segment', [[seg('a', "segment('ghost')")], []], /segment 'a' refers to unknown segment 'ghost'/],
    ['a segment including itself', [[seg('a', "segment('a') or trait('x') = 1")], []], /cycle: 'a' → 'a'/],
    [
      'a cycle through three segments',
      [[seg('a', "segment('b')"), seg('b', "segment('c')"), seg('c', "segment('a') and trait('x') = 1")], []],
      /cycle: 'a' → 'b' → 'c' → 'a'/,
    ],
    ['a segment defined twice', [[seg('a', "trait('x') = 1"), seg('a', "trait('x') = 2")], []], /segment 'a' is defined twice/],
    ['a rule that is not a rule', [[{ id: 'a', rule: { kind: 'trait' } }], []], /./],
    [
      'a computed trait without an event',
      [[], [{ id: 'c', definition: { key: 'n', kind: 'event_counter', event: {} } }]],
      /needs an event name, a type, or both/,
    ],
  ];
  for (const [name, args, expected] of cases) {
    it(name, () => {
      const result = compileAudiences(...args);
      assert.equal(result.ok, false);
      assert.ok(
        messages(result).some((m) => expected.test(m)),
        messages(result).join('; '),
      );
    });
  }
});

function compiled(...args: Parameters<typeof compileAudiences>): CompiledAudiences {
  const result = compileAudiences(...args);
  assert.ok(result.ok, JSON.stringify(result));
  return result.value;
}

describe('compileAudiences orders and indexes', () => {
  it('puts a segment after every segment it includes, whatever the input order', () => {
    const c = compiled(
      [
        seg('vip', "segment('buyers') and segment('engaged')"),
        seg('engaged', "segment('buyers')"),
        seg('buyers', "event('Order Completed').count() >= 1"),
      ],
      [],
    );
    assert.deepEqual(
      c.segments.map((s) => s.id),
      ['buyers', 'engaged', 'vip'],
    );
    assert.deepEqual(
      c.segments[0]?.dependents.map((p) => c.segments[p]?.id),
      ['engaged', 'vip'],
    );
  });

  it('indexes event names (funnel steps included), type-only conditions and trait paths', () => {
    const c = compiled(
      [
        seg('abandoners', "event('Product Added').where(event('Order Completed').within(parent: 1 hours).count() = 0).count() >= 1"),
        seg('pagers', "event(type: 'page').count() >= 3"),
        seg('locals', "trait('address.city') = 'Paris'"),
        seg('heavy', "trait('orders_7d') >= 3"),
      ],
      [
        {
          id: 'c1',
          definition: {
            key: 'orders_7d',
            kind: 'event_counter',
            event: { name: 'Order Completed' },
            window: { kind: 'within', amount: 7, unit: 'days' },
          },
        },
      ],
    );
    const ids = (ps: readonly number[] | undefined) => (ps ?? []).map((p) => c.segments[p]?.id);
    assert.deepEqual(ids(c.segmentsByEvent.byName.get('Product Added')), ['abandoners']);
    assert.deepEqual(ids(c.segmentsByEvent.byName.get('Order Completed')), ['abandoners']);
    assert.deepEqual(ids(c.segmentsByEvent.any), ['pagers']);
    assert.deepEqual(ids(c.segmentsByTraitPath.get('address.city')), ['locals']);
    assert.deepEqual(ids(c.segmentsByTraitPath.get('orders_7d')), ['heavy']);
    assert.deepEqual(c.traitsByEvent.byName.get('Order Completed'), [0]);
  });
});

describe('an event re-evaluates only what it can affect', () => {
  const c = compiled(
    [
      seg('added', "event('Product Added').count() >= 1"),
      seg('ordered', "event('Order Completed').count() >= 1"),
      seg('pagers', "event(type: 'page').count() >= 1"),
      seg('added-and-ordered', "segment('added') and segment('ordered')"),
      seg('parisians', "trait('address.city') = 'Paris'"),
    ],
    [],
  );
  const state = (memberships: Map<string, number>) => ({
    profileId: 'p1',
    traits: { address: { city: 'Paris' } },
    events: [aTrack('Product Added', T0)],
    memberships,
    computed: {},
  });
  const evaluated = (plan: ReturnType<typeof evaluateProfile>) => plan.timers.map((t) => t.target.id);

  it('a Product Added re-evaluates its segment, the type-only one, and the dependent whose input changed', () => {
    const plan = evaluateProfile(c, state(new Map()), { kind: 'event', eventNames: ['Product Added'], changedTraits: [] }, T0);
    assert.deepEqual(evaluated(plan), ['added', 'pagers', 'added-and-ordered']);
    assert.deepEqual(plan.entered, [{ segmentId: 'added', at: T0 }]);
  });

  it('an unchanged membership does not wake its dependents', () => {
    const plan = evaluateProfile(
      c,
      state(new Map([['added', T0 - 1]])),
      { kind: 'event', eventNames: ['Product Added'], changedTraits: [] },
      T0,
    );
    assert.deepEqual(evaluated(plan), ['added', 'pagers']);
  });

  it('a trait change re-evaluates the segments reading it or a path inside it', () => {
    const plan = evaluateProfile(c, state(new Map()), { kind: 'event', eventNames: [], changedTraits: ['address'] }, T0);
    assert.deepEqual(evaluated(plan), ['parisians']);
    assert.deepEqual(plan.entered, [{ segmentId: 'parisians', at: T0 }]);
  });
});

describe('isTimeDependent', () => {
  const cases: Array<[string, boolean]> = [
    ["event('Order Completed').within(30 days).count() >= 1", true],
    ["event('Order Completed').count() >= 1", false],
    ["event('Order Completed').between('2026-01-01', '2026-02-01').count() >= 1", false],
    ["event('A').where(event('B').within(parent: 1 hours).count() = 0).count() >= 1", true],
    ["trait('last_seen').within_last(3 days)", true],
    ["trait('signup').before_date('2026-01-01')", false],
    ["event('A').last().within_last(2 hours)", true],
    ["segment('x') and trait('plan') = 'pro'", false],
  ];
  for (const [text, expected] of cases) it(`${text} → ${expected}`, () => assert.equal(isTimeDependent(rule(text)), expected));
});

describe('historyNeeds: what of a history the audiences read', () => {
  it('collects the names of segments, funnel steps and computed traits; a type-only condition needs every event', () => {
    const named = compiled(
      [seg('a', "event('Product Added').where(event('Order Completed').within(parent: 1 hours).count() = 0).within(7 days).count() >= 1")],
      [{ id: 'c', definition: { key: 'n', kind: 'event_counter', event: { name: 'Email Opened' } } }],
    );
    assert.deepEqual(historyNeeds(named), { eventNames: new Set(['Email Opened', 'Order Completed', 'Product Added']), properties: false });
    assert.deepEqual(historyNeeds(compiled([seg('t', "trait('plan') = 'pro'")], [])), { eventNames: new Set(), properties: false });
    const typeOnly = compiled([seg('p', "event(type: 'page').within(1 days).count() >= 1")], []);
    assert.equal(historyNeeds(named, typeOnly).eventNames, null);
    assert.equal(historyNeeds(named, null).eventNames?.size, 3, 'a missing set adds nothing');
  });

  it('properties are needed by a property filter, a reducer over a property, or a computed trait of a property', () => {
    const needs = (segments: Array<[string, string]>, traits: object[] = []) =>
      historyNeeds(
        compiled(
          segments.map(([id, text]) => seg(id, text)),
          traits.map((definition, i) => ({ id: `c${i}`, definition })),
        ),
      ).properties;
    assert.equal(needs([['a', "event('Order Completed').where(property('total') > 50).count() >= 1"]]), true);
    assert.equal(needs([['a', "event('Order Completed').sum(property('total')) > 50"]]), true);
    assert.equal(needs([['a', "event('Order Completed').last() > 0"]]), false, 'last() without a property reads the time');
    assert.equal(
      needs([['a', "event('A').where(event('B').where(property('x') = 1).within(parent: 1 hours).count() = 0).count() >= 1"]]),
      true,
      'inside a funnel step',
    );
    assert.equal(needs([], [{ key: 's', kind: 'aggregation', fn: 'sum', property: 'total', event: { name: 'Order Completed' } }]), true);
    assert.equal(needs([], [{ key: 'n', kind: 'event_counter', event: { name: 'Order Completed' } }]), false);
  });
});
