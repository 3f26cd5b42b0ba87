/**
 * The reference evaluator, scenario by scenario, on an explicit clock: each scenario is a rule, a
 * profile, and the membership (and next change) expected at given instants. Nothing sleeps.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProfileSnapshot } from '../../../src/core/segments/profile.ts';
import { evaluate, nextChangeAt } from '../../../src/core/segments/evaluate.ts';
import { aPage, aProfile, aTrack, DAY, HOUR, MINUTE, rule, T0 } from './builders.ts';

interface Scenario {
  name: string;
  rule: string;
  profile: ProfileSnapshot;
  /** [instant, member?] */
  member: Array<[number, boolean]>;
  /** [now, expected nextChangeAt(now)] */
  nextChange?: Array<[number, number | null]>;
}

const at = (t: number) => {
  const d = t - T0;
  return `T0${d >= 0 ? '+' : '-'}${Math.abs(d) / MINUTE}min`;
};

function run(scenarios: Scenario[]): void {
  for (const s of scenarios) {
    it(s.name, () => {
      const r = rule(s.rule);
      for (const [t, expected] of s.member) assert.equal(evaluate(r, s.profile, t), expected, `member at ${at(t)}`);
      for (const [t, expected] of s.nextChange ?? []) assert.equal(nextChangeAt(r, s.profile, t), expected, `next change after ${at(t)}`);
    });
  }
}

const ORDERED = "event('Order Completed').within(30 days).count() >= 1";
const ABANDONED = "event('Product Added').where(event('Order Completed').within(parent: 1 hours).count() = 0).within(7 days).count() >= 1";

describe('windows follow the clock', () => {
  run([
    {
      name: 'an order enters the 30-day window at its time and leaves it exactly 30 days later',
      rule: ORDERED,
      profile: aProfile({ events: [aTrack('Order Completed', T0)] }),
      member: [
        [T0 - 1, false],
        [T0, true],
        [T0 + 30 * DAY - 1, true],
        [T0 + 30 * DAY, false],
      ],
      nextChange: [
        [T0 - DAY, T0],
        [T0, T0 + 30 * DAY],
        [T0 + 30 * DAY, null],
      ],
    },
    {
      name: 'three orders over 50 within 30 days, for pro plans only',
      rule: "event('Order Completed').where(property('total') > 50).within(30 days).count() >= 3 AND trait('plan') = 'pro'",
      profile: aProfile({
        traits: { plan: 'pro' },
        events: [
          aTrack('Order Completed', T0, { total: 60 }),
          aTrack('Order Completed', T0 + DAY, { total: 40 }),
          aTrack('Order Completed', T0 + 2 * DAY, { total: 70 }),
          aTrack('Order Completed', T0 + 3 * DAY, { total: 51 }),
        ],
      }),
      member: [
        [T0 + 2 * DAY, false],
        [T0 + 3 * DAY, true],
        [T0 + 30 * DAY - 1, true],
        [T0 + 30 * DAY, false],
      ],
      nextChange: [[T0 + 3 * DAY, T0 + 30 * DAY]],
    },
    {
      name: 'the same orders on a free plan never qualify',
      rule: "event('Order Completed').where(property('total') > 50).within(30 days).count() >= 3 AND trait('plan') = 'pro'",
      profile: aProfile({
        traits: { plan: 'free' },
        events: [0, 1, 2].map((d) => aTrack('Order Completed', T0 + d * DAY, { total: 99 })),
      }),
      member: [[T0 + 3 * DAY, false]],
      nextChange: [[T0 + 3 * DAY, null]],
    },
    {
      name: 'between(start, end) takes start and excludes end, in UTC',
      rule: "event('X').between('2026-01-01', '2026-02-01').count() >= 1",
      profile: aProfile({ events: [aTrack('X', Date.UTC(2026, 1, 1)), aTrack('Y', Date.UTC(2026, 0, 15))] }),
      member: [[T0, false]],
    },
    {
      name: 'an event at the start of a between window counts',
      rule: "event('X').between('2026-01-01', '2026-02-01').count() >= 1",
      profile: aProfile({ events: [aTrack('X', Date.UTC(2026, 0, 1))] }),
      member: [
        [Date.UTC(2026, 0, 1) - 1, false],
        [Date.UTC(2026, 0, 1), true],
        [T0 + 365 * DAY, true],
      ],
      nextChange: [
        [Date.UTC(2025, 11, 1), Date.UTC(2026, 0, 1)],
        [T0, null],
      ],
    },
    {
      name: 'an event stamped in the future is not seen until its time comes',
      rule: "event('X').count() >= 1",
      profile: aProfile({ events: [aTrack('X', T0 + HOUR)] }),
      member: [
        [T0, false],
        [T0 + HOUR, true],
      ],
      nextChange: [[T0, T0 + HOUR]],
    },
    {
      name: 'events are matched by type, and by name and type together',
      rule: "event(type: 'page').count() >= 2 AND event('Pricing', type: 'page').count() = 1",
      profile: aProfile({ events: [aPage('Pricing', T0), aPage(null, T0), aTrack('Pricing', T0)] }),
      member: [[T0, true]],
    },
  ]);
});

describe('funnels and absences', () => {
  run([
    {
      name: 'cart abandonment is true only once the hour has closed',
      rule: ABANDONED,
      profile: aProfile({ events: [aTrack('Product Added', T0)] }),
      member: [
        [T0, false],
        [T0 + 59 * MINUTE, false],
        [T0 + HOUR - 1, false],
        [T0 + HOUR, true],
        [T0 + 7 * DAY - 1, true],
        [T0 + 7 * DAY, false],
      ],
      nextChange: [
        [T0, T0 + HOUR],
        [T0 + HOUR, T0 + 7 * DAY],
      ],
    },
    {
      name: 'a buyer is never an abandoner, before or after the hour',
      rule: ABANDONED,
      profile: aProfile({ events: [aTrack('Product Added', T0), aTrack('Order Completed', T0 + 10 * MINUTE)] }),
      member: [
        [T0, false],
        [T0 + 10 * MINUTE, false],
        [T0 + HOUR, false],
        [T0 + 2 * DAY, false],
      ],
      nextChange: [[T0, null]],
    },
    {
      name: 'an order at exactly parent + 1 hour is still within the hour',
      rule: ABANDONED,
      profile: aProfile({ events: [aTrack('Product Added', T0), aTrack('Order Completed', T0 + HOUR)] }),
      member: [
        [T0 + HOUR, false],
        [T0 + DAY, false],
      ],
    },
    {
      name: 'an order at the same instant as the add is not after it',
      rule: ABANDONED,
      profile: aProfile({ events: [aTrack('Product Added', T0), aTrack('Order Completed', T0)] }),
      member: [[T0 + HOUR, true]],
    },
    {
      name: 'buying one cart does not excuse a later abandoned one',
      rule: ABANDONED,
      profile: aProfile({
        events: [aTrack('Product Added', T0), aTrack('Order Completed', T0 + 30 * MINUTE), aTrack('Product Added', T0 + 2 * HOUR)],
      }),
      member: [
        [T0 + 2 * HOUR, false],
        [T0 + 3 * HOUR, true],
      ],
      nextChange: [[T0, T0 + 3 * HOUR]],
    },
    {
      name: 'a repeat add resets the timer when the rule says so',
      rule: "event('Product Added').where(event('Order Completed').within(parent: 1 hours).count() = 0 AND event('Product Added').within(parent: 1 hours).count() = 0).count() >= 1",
      profile: aProfile({ events: [aTrack('Product Added', T0), aTrack('Product Added', T0 + 40 * MINUTE)] }),
      member: [
        [T0 + HOUR, false],
        [T0 + 100 * MINUTE - 1, false],
        [T0 + 100 * MINUTE, true],
      ],
      nextChange: [[T0, T0 + 100 * MINUTE]],
    },
    {
      name: 'a positive funnel step is decided as soon as it happens, without waiting for the window',
      rule: "event('Shoes Bought').where(event('Shoes Returned').within(parent: 5 days).count() >= 1).within(30 days).count() >= 1",
      profile: aProfile({ events: [aTrack('Shoes Bought', T0), aTrack('Shoes Returned', T0 + 2 * DAY)] }),
      member: [
        [T0 + DAY, false],
        [T0 + 2 * DAY, true],
        [T0 + 30 * DAY, false],
      ],
      nextChange: [
        [T0, T0 + 2 * DAY],
        [T0 + 2 * DAY, T0 + 30 * DAY],
      ],
    },
    {
      name: 'a return after the funnel window does not count',
      rule: "event('Shoes Bought').where(event('Shoes Returned').within(parent: 5 days).count() >= 1).within(30 days).count() >= 1",
      profile: aProfile({ events: [aTrack('Shoes Bought', T0), aTrack('Shoes Returned', T0 + 6 * DAY)] }),
      member: [[T0 + 7 * DAY, false]],
      nextChange: [[T0, null]],
    },
    {
      name: 'NOT of a pending step stays pending (Kleene logic): still an absence',
      rule: "event('A').where(NOT event('B').within(parent: 1 hours).count() >= 1).count() >= 1",
      profile: aProfile({ events: [aTrack('A', T0)] }),
      member: [
        [T0 + 30 * MINUTE, false],
        [T0 + HOUR, true],
      ],
    },
    {
      name: 'OR with a decided true side does not wait for the pending side',
      rule: "event('A').where(property('vip') = true OR event('B').within(parent: 1 hours).count() = 0).count() >= 1",
      profile: aProfile({ events: [aTrack('A', T0, { vip: true })] }),
      member: [[T0, true]],
    },
    {
      name: 'a count above the bound of an = is decided false at once',
      rule: "event('A').where(event('B').within(parent: 1 hours).count() = 1).count() >= 1",
      profile: aProfile({ events: [aTrack('A', T0), aTrack('B', T0 + MINUTE), aTrack('B', T0 + 2 * MINUTE)] }),
      member: [
        [T0 + MINUTE, false],
        [T0 + 2 * MINUTE, false],
        [T0 + HOUR, false],
      ],
    },
    {
      name: 'exactly one follow-up is decided only when the window closes',
      rule: "event('A').where(event('B').within(parent: 1 hours).count() = 1).count() >= 1",
      profile: aProfile({ events: [aTrack('A', T0), aTrack('B', T0 + MINUTE)] }),
      member: [
        [T0 + MINUTE, false],
        [T0 + HOUR, true],
      ],
      nextChange: [[T0, T0 + HOUR]],
    },
  ]);
});

describe('late events and event time', () => {
  it('a late event changes a past window: event time decides, not arrival', () => {
    const r = rule("event('Order Completed').within(30 days).count() >= 2");
    const before = aProfile({ events: [aTrack('Order Completed', T0 - 40 * DAY), aTrack('Order Completed', T0 - 10 * DAY)] });
    assert.equal(evaluate(r, before, T0), false);
    const lateInside = aProfile({ events: [...before.events, aTrack('Order Completed', T0 - 5 * DAY)] });
    assert.equal(evaluate(r, lateInside, T0), true);
    assert.equal(nextChangeAt(r, lateInside, T0), T0 + 20 * DAY, 'the older of the two leaves first');
    const lateOutside = aProfile({ events: [...before.events, aTrack('Order Completed', T0 - 31 * DAY)] });
    assert.equal(evaluate(r, lateOutside, T0), false);
  });

  it('a late order turns a past abandonment into a purchase', () => {
    const r = rule(ABANDONED);
    const abandoned = aProfile({ events: [aTrack('Product Added', T0)] });
    assert.equal(evaluate(r, abandoned, T0 + 2 * HOUR), true);
    const withLateOrder = aProfile({ events: [...abandoned.events, aTrack('Order Completed', T0 + 20 * MINUTE)] });
    assert.equal(evaluate(r, withLateOrder, T0 + 2 * HOUR), false);
  });

  it('the history order does not matter', () => {
    const r = rule("event('A').within(1 days).first(property('p')) = 'x' AND event('A').last() > 0");
    const events = [aTrack('A', T0 + 2 * HOUR, { p: 'y' }), aTrack('A', T0, { p: 'x' }), aTrack('A', T0 + HOUR, { p: 'z' })];
    assert.equal(evaluate(r, aProfile({ events }), T0 + 3 * HOUR), true);
    assert.equal(evaluate(r, aProfile({ events: [...events].reverse() }), T0 + 3 * HOUR), true);
  });
});

describe('segments of segments', () => {
  run([
    {
      name: 'member of one segment and not of another',
      rule: "segment('vip') AND NOT segment('churned')",
      profile: aProfile({ segments: ['vip'] }),
      member: [[T0, true]],
      nextChange: [[T0, null]],
    },
    {
      name: 'the excluded segment wins',
      rule: "segment('vip') AND NOT segment('churned')",
      profile: aProfile({ segments: ['vip', 'churned'] }),
      member: [[T0, false]],
    },
  ]);
});
