/**
 * The real-time engine in the domain's words: shoppers act, the injected clock moves on, and we read
 * which segments they entered and left, and exactly when. Nothing sleeps; timers fire as the clock
 * passes them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aTrack, DAY, HOUR, MINUTE, T0 } from '../builders.ts';
import { AudienceHarness, reference, type Definitions } from './harness.ts';
import { MemoryScheduler } from '../../../../src/core/segments/engine/scheduler.ts';
import { parseRule } from '../../../../src/core/segments/parser.ts';

/** `T0+1d12h`, `T0-30m`: instants as offsets from the scenario's start. */
function at(t: number): string {
  const d = Math.abs(t - T0);
  const parts = [
    [Math.floor(d / DAY), 'd'],
    [Math.floor((d % DAY) / HOUR), 'h'],
    [Math.floor((d % HOUR) / MINUTE), 'm'],
  ].filter(([n]) => n !== 0);
  return `T0${t < T0 ? '-' : '+'}${parts.map(([n, u]) => `${n}${u}`).join('') || '0'}`;
}

const RECENT_BUYERS = { id: 'recent-buyers', rule: "event('Order Completed').within(30 days).count() >= 1" };
const ABANDONERS = {
  id: 'cart-abandoners',
  rule: "event('Product Added').where(event('Order Completed').within(parent: 1 hours).count() = 0).within(7 days).count() >= 1",
};
const VIP = { id: 'vip', rule: "segment('recent-buyers') and trait('plan') = 'pro'" };
const LOYAL = { id: 'loyal', rule: "event('Order Completed').within(30 days).count() >= 2" };
const ACTIVE = { id: 'active', rule: "event('Login').within(1 days).count() >= 1" };

function defs(...segments: Array<{ id: string; rule: string }>): Definitions {
  return {
    segments: segments.map((s) => {
      const parsed = parseRule(s.rule);
      assert.ok(parsed.ok, s.rule);
      return { id: s.id, rule: parsed.value };
    }),
  };
}

function agreesWithReference(h: AudienceHarness, profileId: string): void {
  const p = h.profile(profileId);
  assert.deepEqual(h.segmentsOf(profileId), reference(h.compiled, h.defs, p, h.now).segments, `at ${at(h.now)}`);
}

describe('real-time segments', () => {
  it('enters a 30-day window with the order and leaves it exactly 30 days later', () => {
    const h = new AudienceHarness(defs(RECENT_BUYERS), T0);
    h.track('ann', aTrack('Order Completed', T0));
    assert.deepEqual(h.timerRows(), [{ profileId: 'ann', target: { kind: 'segment', id: 'recent-buyers' }, dueAt: T0 + 30 * DAY }]);
    h.advanceTo(T0 + 40 * DAY);
    assert.deepEqual(h.changesOf('ann', at), ['entered recent-buyers at T0+0', 'exited recent-buyers at T0+30d']);
    assert.deepEqual(h.timerRows(), []);
  });

  it('a second order moves the exit 30 days after it', () => {
    const h = new AudienceHarness(defs(RECENT_BUYERS), T0);
    h.track('ann', aTrack('Order Completed', T0));
    h.advanceTo(T0 + 10 * DAY);
    h.track('ann', aTrack('Order Completed', T0 + 10 * DAY));
    h.advanceTo(T0 + 60 * DAY);
    assert.deepEqual(h.changesOf('ann', at), ['entered recent-buyers at T0+0', 'exited recent-buyers at T0+40d']);
  });

  it('cart abandonment fires exactly when the hour closes, and the abandoner leaves after 7 days', () => {
    const h = new AudienceHarness(defs(ABANDONERS), T0);
    h.track('bob', aTrack('Product Added', T0));
    h.advanceTo(T0 + HOUR - 1);
    assert.deepEqual(h.segmentsOf('bob'), []);
    h.advanceTo(T0 + 30 * DAY);
    assert.deepEqual(h.changesOf('bob', at), ['entered cart-abandoners at T0+1h', 'exited cart-abandoners at T0+7d']);
  });

  it('cart abandonment never fires for a buyer', () => {
    const h = new AudienceHarness(defs(ABANDONERS), T0);
    h.track('cat', aTrack('Product Added', T0));
    h.advanceTo(T0 + 30 * MINUTE);
    h.track('cat', aTrack('Order Completed', T0 + 30 * MINUTE));
    h.advanceTo(T0 + 30 * DAY);
    assert.deepEqual(h.changesOf('cat', at), []);
    assert.deepEqual(h.timerRows(), []);
  });

  it('a late order, stamped inside the hour, takes an abandoner back out', () => {
    const h = new AudienceHarness(defs(ABANDONERS), T0);
    h.track('dan', aTrack('Product Added', T0));
    h.advanceTo(T0 + 2 * HOUR);
    h.track('dan', aTrack('Order Completed', T0 + 50 * MINUTE));
    assert.deepEqual(h.changesOf('dan', at), ['entered cart-abandoners at T0+1h', 'exited cart-abandoners at T0+2h']);
  });

  it('a late login changes a past window: in now, out when its day is over', () => {
    const h = new AudienceHarness(defs(ACTIVE), T0 + 2 * DAY);
    h.track('eve', aTrack('Login', T0 + DAY + 12 * HOUR));
    h.advanceTo(T0 + 5 * DAY);
    assert.deepEqual(h.changesOf('eve', at), ['entered active at T0+2d', 'exited active at T0+2d12h']);
  });

  it('a segment of segments follows the segment it includes, at the same instant', () => {
    const h = new AudienceHarness(defs(VIP, RECENT_BUYERS), T0);
    h.track('fay', aTrack('Order Completed', T0));
    h.advanceTo(T0 + DAY);
    h.identify('fay', { plan: 'pro' });
    h.advanceTo(T0 + 40 * DAY);
    assert.deepEqual(h.changesOf('fay', at), [
      'entered recent-buyers at T0+0',
      'entered vip at T0+1d',
      'exited recent-buyers at T0+30d',
      'exited vip at T0+30d',
    ]);
  });

  it('a merge brings the merged profile into a segment neither half was in', () => {
    const h = new AudienceHarness(defs(LOYAL), T0);
    h.track('anonymous-1', aTrack('Order Completed', T0));
    h.advanceTo(T0 + 5 * DAY);
    h.track('gus', aTrack('Order Completed', T0 + 5 * DAY));
    h.advanceTo(T0 + 6 * DAY);
    assert.deepEqual([h.segmentsOf('anonymous-1'), h.segmentsOf('gus')], [[], []]);
    h.merge('gus', 'anonymous-1');
    h.advanceTo(T0 + 60 * DAY);
    assert.deepEqual(h.changesOf('gus', at), ['entered loyal at T0+6d', 'exited loyal at T0+30d']);
    assert.ok(!h.profiles.has('anonymous-1'));
  });

  it('a computed trait expiring takes the profile out of the segment reading it, on time', () => {
    const h = new AudienceHarness(
      {
        segments: [{ id: 'frequent', rule: parseOk("trait('orders_7d') >= 2") }],
        computedTraits: [
          {
            id: 'orders-7d',
            definition: {
              key: 'orders_7d',
              kind: 'event_counter',
              event: { name: 'Order Completed' },
              window: { kind: 'within', amount: 7, unit: 'days' },
            },
          },
        ],
      },
      T0,
    );
    h.track('hal', aTrack('Order Completed', T0));
    h.advanceTo(T0 + DAY);
    h.track('hal', aTrack('Order Completed', T0 + DAY));
    assert.deepEqual(h.profile('hal').computed, { orders_7d: 2 });
    h.advanceTo(T0 + 30 * DAY);
    assert.deepEqual(h.changesOf('hal', at), ['entered frequent at T0+1d', 'exited frequent at T0+7d']);
    assert.deepEqual(h.profile('hal').computed, { orders_7d: 0 });
  });
});

function parseOk(text: string) {
  const parsed = parseRule(text);
  assert.ok(parsed.ok, text);
  return parsed.value;
}

describe('restart with pending timers', () => {
  it('timers stored as plain rows and fired by a rebuilt engine give the same result', () => {
    const before = new AudienceHarness(defs(ABANDONERS, RECENT_BUYERS, VIP), T0);
    before.identify('ivy', { plan: 'pro' });
    before.track('ivy', aTrack('Product Added', T0));
    before.track('ivy', aTrack('Order Completed', T0 - 29 * DAY));
    before.track('joe', aTrack('Product Added', T0 - 30 * MINUTE));
    before.advanceTo(T0 + 10 * MINUTE);

    // What survives a restart: the stored profiles and the timers table, as plain data.
    const stored = JSON.parse(
      JSON.stringify({
        timers: before.timerRows(),
        profiles: [...before.profiles].map(([id, p]) => ({
          id,
          traits: p.traits,
          events: p.events,
          computed: p.computed,
          memberships: [...p.memberships],
        })),
      }),
    );
    const after = new AudienceHarness(defs(ABANDONERS, RECENT_BUYERS, VIP), before.now);
    after.scheduler = MemoryScheduler.fromRows(stored.timers);
    for (const p of stored.profiles) after.profiles.set(p.id, { ...p, memberships: new Map(p.memberships) });
    const seenBefore = before.notifications.length;

    before.advanceTo(T0 + 3 * DAY);
    after.advanceTo(T0 + 3 * DAY);
    assert.deepEqual(after.notifications, before.notifications.slice(seenBefore));
    assert.deepEqual(after.changesOf('ivy', at), [
      'entered cart-abandoners at T0+1h',
      'exited recent-buyers at T0+1d',
      'exited vip at T0+1d',
    ]);
    assert.deepEqual(after.changesOf('joe', at), ['entered cart-abandoners at T0+30m']);
    assert.deepEqual(after.timerRows(), before.timerRows());
    for (const id of ['ivy', 'joe']) agreesWithReference(after, id);
  });
});
