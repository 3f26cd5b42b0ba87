/**
 * Computed traits, one kind at a time, over one shopper's history on an explicit clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeTrait, validateComputedTrait, type ComputedTraitDefinition } from '../../../src/core/segments/computed-traits.ts';
import { aPage, aTrack, DAY, HOUR, T0 } from './builders.ts';

const history = [
  aTrack('Order Completed', T0 - 40 * DAY, { revenue: 500, category: 'shoes' }),
  aTrack('Order Completed', T0 - 10 * DAY, { revenue: 100, category: 'hats' }),
  aTrack('Order Completed', T0 - 3 * DAY, { revenue: 40, category: 'shoes' }),
  aTrack('Order Completed', T0 - 2 * DAY, { revenue: 'free', category: 'bags' }),
  aTrack('Order Completed', T0 - DAY, { revenue: 60, category: 'hats' }),
  aTrack('Order Completed', T0 + HOUR, { revenue: 9_999, category: 'future' }),
  aPage('Pricing', T0 - HOUR, { plan: 'team' }),
  aPage('Pricing', T0 - 2 * HOUR, { plan: 'pro' }),
];

const orders = { name: 'Order Completed' };
const last30 = { kind: 'within' as const, amount: 30, unit: 'days' as const };

const cases: Array<[string, ComputedTraitDefinition, unknown]> = [
  ['event counter, all time (future events not yet)', { key: 'orders', kind: 'event_counter', event: orders }, 5],
  ['event counter, 30 days', { key: 'orders_30d', kind: 'event_counter', event: orders, window: last30 }, 4],
  [
    'event counter with a filter',
    {
      key: 'big_orders',
      kind: 'event_counter',
      event: { ...orders, where: { kind: 'property', path: 'revenue', comparison: { op: '>=', value: 100 } } },
    },
    2,
  ],
  ['event counter by type', { key: 'pages', kind: 'event_counter', event: { type: 'page' } }, 2],
  ['sum', { key: 'revenue_30d', kind: 'aggregation', fn: 'sum', property: 'revenue', event: orders, window: last30 }, 200],
  [
    'avg (non-numbers ignored)',
    { key: 'aov', kind: 'aggregation', fn: 'avg', property: 'revenue', event: orders, window: last30 },
    200 / 3,
  ],
  ['min', { key: 'min', kind: 'aggregation', fn: 'min', property: 'revenue', event: orders }, 40],
  ['max', { key: 'max', kind: 'aggregation', fn: 'max', property: 'revenue', event: orders }, 500],
  ['sum of nothing is 0', { key: 'none', kind: 'aggregation', fn: 'sum', property: 'revenue', event: { name: 'Refund' } }, 0],
  [
    'avg of nothing has no value',
    { key: 'none', kind: 'aggregation', fn: 'avg', property: 'revenue', event: { name: 'Refund' } },
    undefined,
  ],
  ['most frequent, ties alphabetical', { key: 'fav', kind: 'most_frequent', property: 'category', event: orders }, 'hats'],
  [
    'most frequent needs two occurrences',
    { key: 'fav', kind: 'most_frequent', property: 'category', event: orders, window: { kind: 'within', amount: 3, unit: 'days' } },
    undefined,
  ],
  ['first', { key: 'first_category', kind: 'first', property: 'category', event: orders }, 'shoes'],
  ['last', { key: 'last_plan', kind: 'last', property: 'plan', event: { name: 'Pricing', type: 'page' } }, 'team'],
  ['unique list, sorted', { key: 'categories', kind: 'unique_list', property: 'category', event: orders }, ['bags', 'hats', 'shoes']],
  ['unique list count', { key: 'n_categories', kind: 'unique_list_count', property: 'category', event: orders, window: last30 }, 3],
  [
    'between window',
    {
      key: 'feb_orders',
      kind: 'event_counter',
      event: orders,
      window: { kind: 'between', start: '2026-02-01', end: '2026-02-20' },
    },
    1,
  ],
];

describe('computed traits', () => {
  for (const [name, def, expected] of cases) {
    it(name, () => {
      assert.ok(validateComputedTrait(def).ok, 'the definition is valid');
      assert.deepEqual(computeTrait(def, history, T0), expected);
    });
  }

  it('moves with the clock: the future order counts once its time has come', () => {
    const def: ComputedTraitDefinition = { key: 'orders', kind: 'event_counter', event: orders };
    assert.equal(computeTrait(def, history, T0 + HOUR), 6);
  });

  it('a tie between numbers goes to the smaller; values of different types are different values', () => {
    const events = [1, 2, 2, 1, '1', '1', '1'].map((v, i) => aTrack('Rated', T0 - i, { stars: v }));
    assert.equal(computeTrait({ key: 's', kind: 'most_frequent', property: 'stars', event: { name: 'Rated' } }, events.slice(0, 4), T0), 1);
    assert.equal(computeTrait({ key: 's', kind: 'most_frequent', property: 'stars', event: { name: 'Rated' } }, events, T0), '1');
    assert.deepEqual(computeTrait({ key: 's', kind: 'unique_list', property: 'stars', event: { name: 'Rated' } }, events, T0), [1, 2, '1']);
  });

  it('refuses definitions that are not data of the right shape', () => {
    assert.equal(validateComputedTrait({ key: 'x', kind: 'aggregation', fn: 'median', property: 'p', event: orders }).ok, false);
    assert.equal(validateComputedTrait({ key: 'x', kind: 'first', event: orders }).ok, false, 'first needs a property');
    assert.equal(validateComputedTrait({ key: 'x', kind: 'event_counter', event: {} }).ok, false, 'needs a name or a type');
    assert.equal(validateComputedTrait({ key: 'x', kind: 'event_counter', event: orders, extra: 1 }).ok, false);
    assert.deepEqual(
      validateComputedTrait({
        key: 'x',
        kind: 'event_counter',
        event: { name: 'A', where: { kind: 'property', path: 'p', comparison: { op: 'within_last', amount: 0, unit: 'days' } } },
      }),
      { ok: false, problems: [{ path: '/event/where/comparison/amount', message: 'must be >= 1' }] },
    );
  });

  it('can count only the events a funnel filter keeps: carts abandoned in the last week', () => {
    const def: ComputedTraitDefinition = {
      key: 'abandoned_carts_7d',
      kind: 'event_counter',
      event: {
        name: 'Product Added',
        where: {
          kind: 'event',
          name: 'Order Completed',
          window: { kind: 'parent', amount: 1, unit: 'hours' },
          reducer: { fn: 'count' },
          comparison: { op: '=', value: 0 },
        },
      },
      window: { kind: 'within', amount: 7, unit: 'days' },
    };
    const events = [
      aTrack('Product Added', T0 - 2 * DAY),
      aTrack('Product Added', T0 - DAY),
      aTrack('Order Completed', T0 - DAY + 5 * 60_000),
    ];
    assert.equal(computeTrait(def, events, T0), 1);
    assert.equal(computeTrait(def, [...events, aTrack('Product Added', T0 - 30 * 60_000)], T0), 1, 'the last hour is not over yet');
  });
});
