/**
 * What each comparator and each reducer means, as tables of rule text, profile and answer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluate, nextChangeAt } from '../../../src/core/segments/evaluate.ts';
import { aProfile, aTrack, DAY, HOUR, rule, T0 } from './builders.ts';

describe('comparators on traits', () => {
  const cases: Array<[string, unknown, boolean]> = [
    ["= 'pro'", 'pro', true],
    ["= 'pro'", 'Pro', false],
    ['= 5', '5', false],
    ['= 5', 5, true],
    ["!= 'pro'", 'team', true],
    ["!= 'pro'", undefined, false],
    ['= null', null, true],
    ['= null', undefined, true],
    ['= null', 0, false],
    ['!= null', 0, true],
    ['> 17', 18, true],
    ['> 17', 17, false],
    ['>= 17', 17, true],
    ['< 18', 17.5, true],
    ['<= 18', 19, false],
    ['< 18', '17', false],
    ["> 'b'", 'c', true],
    ["< 'b'", 'a', true],
    ['.is_set()', '', true],
    ['.is_set()', false, true],
    ['.is_set()', null, false],
    ['.is_set()', undefined, false],
    ['.is_null()', undefined, true],
    ['.is_null()', null, true],
    ['.is_null()', 0, false],
    [".contains('@gmail')", 'ann@gmail.com', true],
    [".contains('vip')", ['beta', 'vip'], true],
    [".contains('vip')", ['beta'], false],
    [".contains('1')", 1, false],
    [".omits('@gmail')", 'ann@proton.me', true],
    [".omits('@gmail')", undefined, false],
    [".omits('vip')", ['beta'], true],
    [".starts_with('/pricing')", '/pricing/team', true],
    [".ends_with('.org')", 'x.org', true],
    [".ends_with('.org')", ['x.org'], false],
    [".one_of('pro', 'team')", 'team', true],
    [".one_of('pro', 'team')", 'free', false],
    ['.one_of(1, true)', true, true],
    [".contains_one('vip', 'beta')", 'is beta user', true],
    [".contains_one('vip', 'beta')", ['alpha', 'vip'], true],
    [".contains_one('vip', 'beta')", 'alpha', false],
    [".before_date('2026-01-01')", '2025-12-31T23:59:59Z', true],
    [".before_date('2026-01-01')", '2026-01-01', false],
    [".before_date('2026-01-01')", Date.UTC(2025, 0, 1), true],
    [".before_date('2026-01-01')", 'not a date', false],
    [".after_date('2026-01-01')", '2026-01-01T00:00:01', true],
    [".after_date('2026-01-01T00:00:00+01:00')", '2025-12-31T23:30:00Z', true],
  ];
  for (const [comparison, value, expected] of cases) {
    it(`trait('x')${comparison} with x = ${JSON.stringify(value) ?? 'absent'} → ${expected}`, () => {
      const traits = value === undefined ? {} : { x: value };
      assert.equal(evaluate(rule(`trait('x')${comparison}`), aProfile({ traits }), T0), expected);
    });
  }

  it('reads dotted paths when there is no key of that exact name', () => {
    const r = rule("trait('address.city') = 'Lyon'");
    assert.equal(evaluate(r, aProfile({ traits: { address: { city: 'Lyon' } } }), T0), true);
    assert.equal(evaluate(r, aProfile({ traits: { 'address.city': 'Lyon', address: { city: 'Nice' } } }), T0), true);
    assert.equal(evaluate(r, aProfile({ traits: { address: 'Lyon' } }), T0), false);
  });
});

describe('relative dates split the timeline around now', () => {
  const created = aProfile({ traits: { created_at: new Date(T0).toISOString() } });

  it('within_last(30 days): from the date itself until 30 days after it', () => {
    const r = rule("trait('created_at').within_last(30 days)");
    assert.equal(evaluate(r, created, T0 - 1), false);
    assert.equal(evaluate(r, created, T0), true);
    assert.equal(evaluate(r, created, T0 + 30 * DAY - 1), true);
    assert.equal(evaluate(r, created, T0 + 30 * DAY), false);
    assert.equal(nextChangeAt(r, created, T0 - DAY), T0);
    assert.equal(nextChangeAt(r, created, T0 + DAY), T0 + 30 * DAY);
    assert.equal(nextChangeAt(r, created, T0 + 30 * DAY), null);
  });

  it('before_last, within_next and after_next', () => {
    const renewal = aProfile({ traits: { renewal: T0 + 10 * DAY } });
    const next = rule("trait('renewal').within_next(7 days)");
    assert.equal(evaluate(next, renewal, T0), false);
    assert.equal(nextChangeAt(next, renewal, T0), T0 + 3 * DAY);
    assert.equal(evaluate(next, renewal, T0 + 3 * DAY), true);
    assert.equal(nextChangeAt(next, renewal, T0 + 3 * DAY), T0 + 10 * DAY);
    const after = rule("trait('renewal').after_next(7 days)");
    assert.equal(evaluate(after, renewal, T0 + 3 * DAY - 1), true);
    assert.equal(evaluate(after, renewal, T0 + 3 * DAY), false);
    const old = rule("trait('created_at').before_last(1 days)");
    assert.equal(evaluate(old, created, T0 + DAY - 1), false);
    assert.equal(evaluate(old, created, T0 + DAY), true);
  });

  it('every instant is in exactly one of the four parts', () => {
    const parts = ['before_last', 'within_last', 'within_next', 'after_next'].map((op) => rule(`trait('t').${op}(2 hours)`));
    const p = aProfile({ traits: { t: T0 } });
    for (const now of [T0 - 3 * HOUR, T0 - 2 * HOUR, T0 - 1, T0, T0 + 1, T0 + 2 * HOUR, T0 + 2 * HOUR + 1]) {
      assert.equal(parts.filter((r) => evaluate(r, p, now)).length, 1, `at T0${now - T0 >= 0 ? '+' : ''}${now - T0}ms`);
    }
  });
});

describe('reducers', () => {
  const orders = aProfile({
    events: [
      aTrack('Order', T0, { revenue: 100, plan: 'free', color: 'red' }),
      aTrack('Order', T0 + HOUR, { revenue: 'n/a', color: 'blue' }),
      aTrack('Order', T0 + 2 * HOUR, { revenue: 300, plan: 'pro', color: 'blue' }),
      aTrack('Order', T0 + 3 * HOUR, { revenue: 200, color: 'red' }),
      aTrack('Other', T0, { revenue: 1_000_000 }),
    ],
  });
  const cases: Array<[string, boolean]> = [
    ["event('Order').count() = 4", true],
    ["event('Order').sum(property('revenue')) = 600", true],
    ["event('Order').avg(property('revenue')) = 200", true],
    ["event('Order').min(property('revenue')) = 100", true],
    ["event('Order').max(property('revenue')) = 300", true],
    ["event('Order').first(property('plan')) = 'free'", true],
    ["event('Order').last(property('plan')) = 'pro'", true],
    [`event('Order').first() = ${T0}`, true],
    [`event('Order').last() = ${T0 + 3 * HOUR}`, true],
    ["event('Order').unique(property('color')) = 2", true],
    ["event('Order').unique(property('plan')) = 2", true],
    ["event('Order').mode(property('color')) = 'blue'", true],
    ["event('Order').where(property('color') = 'red').sum(property('revenue')) = 300", true],
    ["event('Order').within(90 minutes).count() = 2", true],
    ["event('Order').last().within_last(2 hours)", true],
  ];
  for (const [text, expected] of cases) {
    it(`${text} → ${expected}`, () => assert.equal(evaluate(rule(text), orders, T0 + 3 * HOUR), expected));
  }

  describe('over no events: count, sum and unique are 0, every other reducer has no value and compares false', () => {
    const empty: Array<[string, boolean]> = [
      ["event('None').count() = 0", true],
      ["event('None').sum(property('x')) = 0", true],
      ["event('None').avg(property('x')) < 1", false],
      ["event('None').avg(property('x')) >= 1", false],
      ["NOT event('None').avg(property('x')) >= 1", true],
      ["event('None').max(property('x')).is_null()", false],
      ["event('None').min(property('x')).is_set()", false],
      ["event('None').first().before_date('2100-01-01')", false],
      ["event('None').mode(property('x')) != 'a'", false],
      ["event('None').unique(property('x')) = 0", true],
    ];
    for (const [text, expected] of empty) {
      it(`${text} → ${expected}`, () => assert.equal(evaluate(rule(text), aProfile(), T0), expected));
    }
  });
});
