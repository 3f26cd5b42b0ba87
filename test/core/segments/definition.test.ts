/**
 * Rules as data: the schema accepts what the language produces and refuses malformed JSON with a path.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Value } from 'typebox/value';
import { ConditionSchema, referencedSegments, validateRule, validateSegmentDefinition } from '../../../src/core/segments/definition.ts';
import { rule } from './builders.ts';
import { rules, wideVocabulary } from './arbitraries.ts';
import { compiledCheck } from '../../../src/core/segments/schema-problems.ts';

const count = { fn: 'count' };
const atLeastOne = { op: '>=', value: 1 };

describe('validateRule', () => {
  it('accepts a rule written as JSON', () => {
    const json = {
      kind: 'and',
      conditions: [
        { kind: 'trait', path: 'plan', comparison: { op: 'one_of', values: ['pro', 'team'] } },
        {
          kind: 'event',
          name: 'Product Added',
          where: {
            kind: 'event',
            name: 'Order Completed',
            window: { kind: 'parent', amount: 1, unit: 'hours' },
            reducer: count,
            comparison: { op: '=', value: 0 },
          },
          window: { kind: 'within', amount: 7, unit: 'days' },
          reducer: count,
          comparison: atLeastOne,
        },
      ],
    };
    const result = validateRule(json);
    assert.ok(result.ok);
    assert.deepEqual(
      result.value,
      rule(
        "trait('plan').one_of('pro', 'team') AND " +
          "event('Product Added').where(event('Order Completed').within(parent: 1 hours).count() = 0).within(7 days).count() >= 1",
      ),
    );
  });

  const refused: Array<[string, unknown, string, string?]> = [
    ['an unknown kind', { kind: 'cohort', id: 'x' }, '/kind', 'must be one of "and", "or", "not", "trait", "event", "segment"'],
    ['an AND with one operand', { kind: 'and', conditions: [{ kind: 'segment', id: 'a' }] }, '/conditions'],
    ['an unknown comparator', { kind: 'trait', path: 'a', comparison: { op: 'like', value: 'x' } }, '/comparison/op'],
    [
      'a fractional window',
      { kind: 'event', name: 'A', window: { kind: 'within', amount: 1.5, unit: 'days' }, reducer: count, comparison: atLeastOne },
      '/window/amount',
      'must be integer',
    ],
    [
      'a calendar month',
      { kind: 'event', name: 'A', window: { kind: 'within', amount: 1, unit: 'months' }, reducer: count, comparison: atLeastOne },
      '/window/unit',
    ],
    [
      'a parent window outside a funnel',
      { kind: 'event', name: 'A', window: { kind: 'parent', amount: 1, unit: 'hours' }, reducer: count, comparison: atLeastOne },
      '/window/kind',
      'must be one of "within", "between"',
    ],
    [
      'sum without a property',
      { kind: 'event', name: 'A', reducer: { fn: 'sum' }, comparison: atLeastOne },
      '/reducer',
      'must have required properties property',
    ],
    ['an unexpected field', { kind: 'segment', id: 'a', note: 'hi' }, '', "unexpected field(s) 'note'"],
    ['an event with neither name nor type', { kind: 'event', reducer: count, comparison: atLeastOne }, ''],
    ['an impossible date', { kind: 'trait', path: 'd', comparison: { op: 'before_date', date: '2026-02-30' } }, '/comparison/date'],
    ['a date in another format', { kind: 'trait', path: 'd', comparison: { op: 'before_date', date: '03/01/2026' } }, '/comparison/date'],
    [
      'a window that ends before it starts',
      {
        kind: 'event',
        name: 'A',
        window: { kind: 'between', start: '2026-02-01', end: '2026-01-01' },
        reducer: count,
        comparison: atLeastOne,
      },
      '/window',
    ],
    [
      'a trait inside a where',
      {
        kind: 'event',
        name: 'A',
        where: { kind: 'trait', path: 'x', comparison: { op: 'is_set' } },
        reducer: count,
        comparison: atLeastOne,
      },
      '/where/kind',
    ],
  ];
  for (const [name, json, path, message] of refused) {
    it(`refuses ${name}, saying where${message ? ' and why' : ''}`, () => {
      const result = validateRule(json);
      assert.equal(result.ok, false);
      if (result.ok) return;
      const found = result.problems.find((p) => p.path === path);
      assert.ok(found, JSON.stringify(result.problems));
      if (message) assert.equal(found.message, message);
    });
  }

  it('reports a problem deep inside a funnel at its own path, not once per alternative', () => {
    const result = validateRule({
      kind: 'or',
      conditions: [
        { kind: 'segment', id: 'a' },
        {
          kind: 'event',
          name: 'A',
          where: { kind: 'not', condition: { kind: 'property', path: 'p', comparison: { op: 'one_of', values: [] } } },
          reducer: count,
          comparison: atLeastOne,
        },
      ],
    });
    assert.deepEqual(result, {
      ok: false,
      problems: [{ path: '/conditions/1/where/condition/comparison/values', message: 'must not have fewer than 1 items' }],
    });
  });

  it('is plain JSON Schema, ready for the OpenAPI document', () => {
    const schema = JSON.parse(JSON.stringify(ConditionSchema)) as { $ref: string; $defs: Record<string, unknown> };
    assert.equal(schema.$ref, 'Condition');
    assert.deepEqual(Object.keys(schema.$defs).sort(), ['Condition', 'EventCondition', 'Filter', 'FunnelEventCondition']);
  });
});

describe('segment definitions', () => {
  it('lists the segments a rule depends on', () => {
    assert.deepEqual(referencedSegments(rule("segment('a') AND (NOT segment('b') OR segment('a')) AND trait('x').is_set()")), ['a', 'b']);
  });

  it('accepts a named segment and refuses one that includes itself', () => {
    const r = rule("segment('vip') AND event('Order Completed').count() >= 1");
    assert.ok(validateSegmentDefinition({ id: 'buyers', name: 'Buyers', rule: r }).ok);
    const self = validateSegmentDefinition({ id: 'vip', name: 'VIP', rule: r });
    assert.deepEqual(self, { ok: false, problems: [{ path: '/rule', message: "the rule refers to its own segment 'vip'" }] });
  });

  it('reports problems in the rule of a definition under /rule', () => {
    const result = validateSegmentDefinition({ id: 's', name: 'S', rule: { kind: 'not', condition: { kind: 'segment', id: '' } } });
    assert.deepEqual(result, { ok: false, problems: [{ path: '/rule/condition/id', message: 'must not have fewer than 1 characters' }] });
    const missing = validateSegmentDefinition({ id: 's', rule: { kind: 'segment', id: 'x' } });
    assert.deepEqual(missing, { ok: false, problems: [{ path: '', message: 'must have required properties name' }] });
  });
});

describe('the compiled schema check', () => {
  /** A rule with one node changed: a value replaced, a key dropped or added, anywhere in the tree. */
  const mutated = fc
    .tuple(rules(wideVocabulary), fc.nat(), fc.anything({ maxDepth: 1 }), fc.constantFrom('replace', 'drop', 'add'))
    .map(([r, at, value, how]) => {
      const copy = structuredClone(r) as unknown;
      const nodes: Array<Record<string, unknown>> = [];
      const visit = (v: unknown) => {
        if (typeof v !== 'object' || v === null) return;
        if (!Array.isArray(v)) nodes.push(v as Record<string, unknown>);
        for (const child of Object.values(v)) visit(child);
      };
      visit(copy);
      const node = nodes[at % nodes.length] as Record<string, unknown>;
      const keys = Object.keys(node);
      const key = keys[at % Math.max(1, keys.length)] ?? 'kind';
      if (how === 'replace') node[key] = value;
      else if (how === 'drop') delete node[key];
      else node.extra = value;
      return copy;
    });

  it('agrees with the interpreted check on valid rules, altered rules and arbitrary values', () => {
    const compiled = compiledCheck(ConditionSchema);
    let valid = 0;
    fc.assert(
      fc.property(fc.oneof(rules(wideVocabulary), mutated, fc.anything()), (json) => {
        const expected = Value.Check(ConditionSchema, json);
        assert.equal(compiled(json), expected);
        if (expected) valid++;
      }),
      { numRuns: 300 },
    );
    assert.ok(valid > 50, 'enough valid rules to compare');
  });
});
