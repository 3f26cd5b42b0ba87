/**
 * The segment language: text → tree → text round trips, generated trees, and errors that say where and what.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Value } from 'typebox/value';
import { ConditionSchema, validateRule } from '../../../src/core/segments/definition.ts';
import { parseRule } from '../../../src/core/segments/parser.ts';
import { printRule } from '../../../src/core/segments/printer.ts';
import { rules, wideVocabulary } from './arbitraries.ts';
import { rule } from './builders.ts';

const EXAMPLES = [
  "event('Order Completed').where(property('total') > 50).within(30 days).count() >= 3 AND trait('plan') = 'pro'",
  "event('Product Added').where(event('Order Completed').within(parent: 1 hours).count() = 0).within(7 days).count() >= 1",
  "NOT (trait('email').is_set() OR trait('age') < 18)",
  "event('Page Viewed').where(property('path') = '/pricing').within(7 days).count() >= 2",
  "trait('created_at').within_last(30 days)",
  "segment('seg_123')",
  "event('Order Completed').within(30 days).sum(property('revenue')) > 500",
  "trait('plan').one_of('pro', 'team')",
  "event('X').between('2026-01-01', '2026-02-01').count() >= 1",
  "event('Shoes Bought').where(event('Shoes Returned').within(parent: 5 days).count() >= 1).within(30 days).count() >= 1",
  "event(type: 'page').count() > 0",
  "event('Pricing', type: 'page').last(property('path')).starts_with('/pricing')",
  "event('Signed Up').first().within_last(7 days)",
  "trait('tags').contains_one('vip', 'beta') AND trait('name').ends_with('son') AND trait('x') = null",
  "(trait('a') = 1 OR trait('b') = -2.5) AND NOT NOT segment('s')",
  "trait('birthday').after_date('2000-01-01T00:00:00Z') OR trait('renewal').within_next(2 weeks)",
];

describe('the segment language round-trips', () => {
  for (const text of EXAMPLES) {
    it(text, () => {
      const tree = rule(text);
      assert.equal(printRule(tree), text, 'the examples are already in canonical form');
      assert.deepEqual(rule(printRule(tree)), tree);
      assert.ok(validateRule(tree).ok, 'a parsed rule is a valid rule');
    });
  }

  it('parses the precedence: AND binds tighter than OR', () => {
    assert.deepEqual(rule("segment('a') OR segment('b') AND segment('c')"), {
      kind: 'or',
      conditions: [
        { kind: 'segment', id: 'a' },
        {
          kind: 'and',
          conditions: [
            { kind: 'segment', id: 'b' },
            { kind: 'segment', id: 'c' },
          ],
        },
      ],
    });
  });

  it('keeps parentheses that change the shape, and prints AND inside OR in parentheses', () => {
    const tree = rule("(segment('a') OR segment('b')) AND segment('c')");
    assert.equal(tree.kind, 'and');
    assert.equal(printRule(rule("segment('a') OR segment('b') AND segment('c')")), "segment('a') OR (segment('b') AND segment('c'))");
  });

  it('builds the documented tree for a funnel', () => {
    assert.deepEqual(rule(EXAMPLES[1] as string), {
      kind: 'event',
      name: 'Product Added',
      where: {
        kind: 'event',
        name: 'Order Completed',
        window: { kind: 'parent', amount: 1, unit: 'hours' },
        reducer: { fn: 'count' },
        comparison: { op: '=', value: 0 },
      },
      window: { kind: 'within', amount: 7, unit: 'days' },
      reducer: { fn: 'count' },
      comparison: { op: '>=', value: 1 },
    });
  });

  it('accepts lenient spellings and prints them canonically, after which printing is a fixed point', () => {
    const cases: Array<[string, string]> = [
      [`event("A").within(1 hour).count() >= 1`, "event('A').within(1 hours).count() >= 1"],
      [`trait('a') = 1 and not trait('b') = 2 or trait('c') = 3`, "(trait('a') = 1 AND NOT trait('b') = 2) OR trait('c') = 3"],
      [
        `event('A').within(3 days).where(property('p') = 'x').count() > 1`,
        "event('A').where(property('p') = 'x').within(3 days).count() > 1",
      ],
      ["trait( 'a' )\n  .is_set( )", "trait('a').is_set()"],
      [`trait('q') = 'it\\'s \\u0041'`, `trait('q') = 'it\\'s A'`],
    ];
    for (const [input, canonical] of cases) {
      const printed = printRule(rule(input));
      assert.equal(printed, canonical);
      assert.equal(printRule(rule(printed)), printed);
    }
  });

  it('round-trips generated trees: parse(print(tree)) deep-equals tree', () => {
    fc.assert(
      fc.property(rules(wideVocabulary), (tree) => {
        assert.ok(Value.Check(ConditionSchema, tree), 'the generator makes schema-valid rules');
        const text = printRule(tree);
        const parsed = parseRule(text);
        assert.ok(parsed.ok, `did not parse: ${text}: ${JSON.stringify(parsed)}`);
        assert.deepEqual(parsed.value, tree);
        assert.equal(printRule(parsed.value), text);
      }),
      { numRuns: 500 },
    );
  });
});

describe('parse errors are values with a line, a column and what was expected', () => {
  const cases: Array<[string, string, { line: number; column: number; message: string }]> = [
    ['unclosed argument', "segment('seg_123' AND trait('a') = 1", { line: 1, column: 19, message: "expected ')' but found 'AND'" }],
    [
      'unclosed group',
      "(trait('plan') = 'pro' AND trait('x') = 1",
      { line: 1, column: 42, message: "expected ')' but found end of input" },
    ],
    [
      'dangling operator',
      "trait('a') = 1 AND",
      { line: 1, column: 19, message: "expected a condition (trait(…), event(…), segment(…), NOT or '(') but found end of input" },
    ],
    [
      'missing reducer',
      "event('A').within(3 days)",
      { line: 1, column: 26, message: "expected '.' and a reducer such as count() but found end of input" },
    ],
    [
      'missing comparison',
      "event('A').count() AND segment('x')",
      { line: 1, column: 20, message: "expected a comparison (=, !=, >, >=, <, <= or a method such as .is_set()) but found 'AND'" },
    ],
    [
      'unknown comparator',
      "trait('x').is_sett()",
      {
        line: 1,
        column: 12,
        message:
          "expected a comparator (is_set, is_null, contains, omits, starts_with, ends_with, one_of, contains_one, before_date, after_date, within_last, before_last, within_next, after_next) but found 'is_sett'",
      },
    ],
    ['unterminated string', "trait('x') = 'abc", { line: 1, column: 14, message: 'unterminated string' }],
    [
      'error on a later line',
      "trait('x') = 1 AND\n  event('A')\n    .within(0 days).count() > 1",
      { line: 3, column: 13, message: 'expected a positive whole number but found number 0' },
    ],
    [
      'bad unit',
      "event('A').within(3 months).count() > 1",
      { line: 1, column: 21, message: "expected a time unit (seconds, minutes, hours, days, weeks) but found 'months'" },
    ],
    [
      'parent window outside a funnel',
      "event('A').within(parent: 1 hours).count() = 0",
      { line: 1, column: 19, message: 'within(parent: …) is only allowed in a funnel, inside .where(…)' },
    ],
    [
      'trait inside a where',
      "event('A').where(trait('x') = 1).count() > 0",
      { line: 1, column: 18, message: "expected a filter (property(…), event(…), NOT or '(') but found 'trait'" },
    ],
    [
      'invalid date',
      "event('A').between('2026-02-30', '2026-03-01').count() > 0",
      {
        line: 1,
        column: 20,
        message: "expected an ISO-8601 date such as '2026-01-31' or '2026-01-31T09:30:00Z' but found string '2026-02-30'",
      },
    ],
    [
      'window ending before it starts',
      "event('A').between('2026-02-01', '2026-01-01').count() > 0",
      { line: 1, column: 34, message: 'the window must end after it starts' },
    ],
    [
      'unknown event type',
      "event(type: 'click').count() > 0",
      { line: 1, column: 13, message: "expected an event type (identify, track, page, screen, group, alias) but found string 'click'" },
    ],
    ['two windows', "event('A').within(1 days).within(2 days).count() > 0", { line: 1, column: 27, message: 'the window is given twice' }],
    [
      'trailing input',
      "segment('a') segment('b')",
      { line: 1, column: 14, message: "expected AND, OR or end of input but found 'segment'" },
    ],
    ['stray character', "trait('a') = 1 & segment('b')", { line: 1, column: 16, message: "unexpected character '&'" }],
    [
      'empty input',
      '',
      { line: 1, column: 1, message: "expected a condition (trait(…), event(…), segment(…), NOT or '(') but found end of input" },
    ],
  ];
  for (const [name, text, error] of cases) {
    it(name, () => {
      assert.deepEqual(parseRule(text), { ok: false, error });
    });
  }

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        const result = parseRule(text);
        if (!result.ok) assert.ok(result.error.line >= 1 && result.error.column >= 1);
      }),
    );
  });
});
