/**
 * The audience runner in the domain's words, through the real pipeline (log → processor → store →
 * runner) with an injected clock: shoppers act, the clock moves on, and we read memberships and the
 * audience-events feed. Nothing sleeps; timers fire as the clock passes them.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { postgresTestUrl } from '../support/postgres.ts';
import { ORDERS_IN_30_DAYS } from '../support/fixtures.ts';
import { AudienceRunner } from '../../src/segments/audience-runner.ts';
import { at, DAY, HOUR, MINUTE, sqliteBackend, T0, World, type Backend } from './world.ts';

const RECENT_BUYERS = "event('Order Completed').within(30 days).count() >= 1";
const LOYAL = "event('Order Completed').within(30 days).count() >= 2";
const ABANDONERS = "event('Product Added').where(event('Order Completed').within(parent: 1 hours).count() = 0).within(7 days).count() >= 1";

const worlds: World[] = [];
const drops: Array<() => Promise<void>> = [];
after(async () => {
  for (const w of worlds) await w.close().catch(() => {});
  for (const drop of drops) await drop();
});

/** Each world gets its own database: a SQLite file, or a PostgreSQL schema. */
const backends: Array<{ name: string; fresh: () => Promise<Backend | null> }> = [
  { name: 'SQLite', fresh: async () => sqliteBackend() },
  {
    name: 'PostgreSQL',
    fresh: async () => {
      const pg = await postgresTestUrl();
      if (!pg) return null;
      drops.push(pg.drop);
      return { kind: 'postgres', url: pg.url };
    },
  },
];

for (const { name, fresh } of backends) {
  const reachable = (await fresh()) !== null;
  async function world(options: Parameters<typeof World.open>[0] = {}): Promise<World> {
    const backend = options.backend ?? (await fresh());
    assert.ok(backend);
    const w = await World.open({ ...options, backend });
    worlds.push(w);
    return w;
  }

  describe(`real-time segments through the pipeline on ${name}`, { skip: !reachable && 'PostgreSQL is not reachable' }, () => {
    it('enters a 30-day window with the order and leaves it exactly 30 days later, by a durable timer', async () => {
      const w = await world();
      await w.createSegment('recent-buyers', RECENT_BUYERS);
      await w.track('ann', 'Order Completed', T0);
      assert.ok(await w.isMember('recent-buyers', 'ann'));
      assert.equal(await w.runner.nextDueAt(), T0 + 30 * DAY);
      await w.advanceTo(T0 + 30 * DAY - 1);
      assert.ok(await w.isMember('recent-buyers', 'ann'), 'still inside the window one millisecond before');
      await w.advanceTo(T0 + 40 * DAY);
      const ann = await w.profileOf('ann');
      assert.deepEqual(await w.feed(at, ann), ['entered recent-buyers at T0+0', 'exited recent-buyers at T0+30d']);
      assert.equal(await w.runner.nextDueAt(), null, 'no timer left');
      assert.equal(await w.segmentStore.segmentSize('recent-buyers'), 0);
    });

    it('a later event does not move a pending exit: the timer wakes once early, re-arms, and the exit is exact', async () => {
      const w = await world();
      await w.createSegment('recent-buyers', RECENT_BUYERS);
      await w.track('ann', 'Order Completed', T0);
      await w.advanceTo(T0 + 10 * DAY);
      await w.track('ann', 'Order Completed', T0 + 10 * DAY);
      assert.equal(await w.runner.nextDueAt(), T0 + 30 * DAY, 'the pending timer is left where it was (no write)');
      await w.advanceTo(T0 + 30 * DAY);
      assert.ok(await w.isMember('recent-buyers', 'ann'), 'the early wake changes nothing');
      assert.equal(await w.runner.nextDueAt(), T0 + 40 * DAY, 're-armed at the true exit');
      await w.advanceTo(T0 + 50 * DAY);
      assert.deepEqual(await w.feed(at, await w.profileOf('ann')), ['entered recent-buyers at T0+0', 'exited recent-buyers at T0+40d']);
      assert.equal(await w.runner.nextDueAt(), null);
    });

    it('a pending timer no longer needed fires once, changes nothing, and is removed', async () => {
      const w = await world();
      await w.createSegment(
        'happy-buyers',
        "event('Order Completed').within(7 days).count() >= 1 AND event('Refund Requested').count() = 0",
      );
      await w.track('ann', 'Order Completed', T0);
      await w.advanceTo(T0 + DAY);
      await w.track('ann', 'Refund Requested', T0 + DAY);
      assert.equal(await w.runner.nextDueAt(), T0 + 7 * DAY, 'left pending: a removal would be a write too');
      await w.advanceTo(T0 + 20 * DAY);
      assert.equal(await w.runner.nextDueAt(), null, 'gone after its wake');
      assert.deepEqual(await w.feed(at, await w.profileOf('ann')), ['entered happy-buyers at T0+0', 'exited happy-buyers at T0+1d']);
    });

    it('cart abandonment fires exactly when the hour closes, and never for a buyer', async () => {
      const w = await world();
      await w.createSegment('abandoners', ABANDONERS);
      await w.track('bob', 'Product Added', T0);
      await w.track('cat', 'Product Added', T0);
      await w.advanceTo(T0 + 30 * MINUTE);
      await w.track('cat', 'Order Completed', T0 + 30 * MINUTE);
      await w.advanceTo(T0 + HOUR - 1);
      assert.deepEqual(await w.members('abandoners'), [], 'undecided while the hour is open');
      await w.advanceTo(T0 + 30 * DAY);
      assert.deepEqual(await w.feed(at, await w.profileOf('bob')), ['entered abandoners at T0+1h', 'exited abandoners at T0+7d']);
      assert.deepEqual(await w.feed(at, await w.profileOf('cat')), [], 'the buyer never entered');
    });

    it('a late event changes a past window: the profile enters now and leaves when the late event leaves the window', async () => {
      const w = await world();
      await w.createSegment('loyal', LOYAL);
      await w.track('dan', 'Order Completed', T0);
      await w.advanceTo(T0 + 10 * DAY);
      assert.equal(await w.isMember('loyal', 'dan'), false);
      // An order placed five days before T0, arriving ten days after it (an offline import).
      await w.track('dan', 'Order Completed', T0 - 5 * DAY);
      assert.ok(await w.isMember('loyal', 'dan'));
      await w.advanceTo(T0 + 60 * DAY);
      assert.deepEqual(await w.feed(at, await w.profileOf('dan')), ['entered loyal at T0+10d', 'exited loyal at T0+25d']);
    });

    it('a segment of a segment follows its dependency at the same instant', async () => {
      const w = await world();
      await w.createSegment('recent-buyers', RECENT_BUYERS);
      await w.createSegment('vip', "segment('recent-buyers') AND trait('plan') = 'pro'");
      await w.identify('eve', { plan: 'pro' });
      await w.track('eve', 'Order Completed', T0);
      await w.advanceTo(T0 + 31 * DAY);
      assert.deepEqual(await w.feed(at, await w.profileOf('eve')), [
        'entered recent-buyers at T0+0',
        'entered vip at T0+0',
        'exited recent-buyers at T0+30d',
        'exited vip at T0+30d',
      ]);
    });

    it('a merge brings a profile into a segment; the absorbed id leaves it', async () => {
      const w = await world();
      await w.createSegment('browsers', "event('Product Viewed').count() >= 3");
      await w.send(
        { type: 'track', anonymousId: 'anon-1', event: 'Product Viewed', timestamp: new Date(T0).toISOString() },
        { type: 'track', anonymousId: 'anon-1', event: 'Product Viewed', timestamp: new Date(T0).toISOString() },
      );
      await w.track('fay', 'Product Viewed', T0);
      await w.advanceTo(T0 + HOUR);
      assert.deepEqual(await w.members('browsers'), []);
      // Logging in on the browsing device links the anonymous id to the user: the two profiles merge.
      await w.send({ type: 'identify', userId: 'fay', anonymousId: 'anon-1', timestamp: new Date(w.now).toISOString() });
      const fay = await w.profileOf('fay');
      assert.deepEqual(await w.members('browsers'), [fay]);
      const { items } = await w.segments.audienceEvents({ after: 0, limit: 10 });
      assert.deepEqual(
        items.map((e) => [e.event, e.profileId, e.cause]),
        [['Audience Entered', fay, 'merge']],
      );
      const merges = await w.store.mergeLog([fay], 10);
      assert.equal(merges.length, 1, 'the two profiles merged');
    });

    it('an event stored while the runner evaluates (between its read and its write) is taken by the next step', async () => {
      const w = await world();
      await w.createSegment('loyal', LOYAL);
      w.betweenReadAndWrite(() =>
        w.deliver({ type: 'track', userId: 'gus', event: 'Order Completed', timestamp: new Date(T0).toISOString() }),
      );
      await w.track('gus', 'Order Completed', T0);
      const gus = await w.profileOf('gus');
      assert.deepEqual(await w.members('loyal'), [gus]);
      assert.deepEqual(await w.feed(at, gus), ['entered loyal at T0+0'], 'entered once, when the second order was seen');
    });

    it('a merge committed between the read and the write: the absorbed profile is never left in a segment', async () => {
      const w = await world();
      await w.createSegment('browsers', "event('Product Viewed').count() >= 1");
      await w.track('hal', 'Signed Up', T0);
      // While the runner evaluates the anonymous visitor's view, the visitor logs in: the two profiles merge.
      w.betweenReadAndWrite(() =>
        w.deliver({ type: 'identify', userId: 'hal', anonymousId: 'anon-h', timestamp: new Date(T0).toISOString() }),
      );
      await w.send({ type: 'track', anonymousId: 'anon-h', event: 'Product Viewed', timestamp: new Date(T0).toISOString() });
      const hal = await w.profileOf('hal');
      assert.deepEqual(await w.members('browsers'), [hal]);
      assert.equal(await w.segmentStore.segmentSize('browsers'), 1);
      const { items } = await w.segments.audienceEvents({ after: 0, limit: 100 });
      const balance = new Map<string, number>();
      for (const e of items) balance.set(e.profileId, (balance.get(e.profileId) ?? 0) + (e.event === 'Audience Entered' ? 1 : -1));
      assert.deepEqual(
        [...balance].filter(([, n]) => n !== 0),
        [[hal, 1]],
        'every other entry has its exit',
      );
    });

    it('a profile erased between the read and the write: nothing is written for it', async () => {
      const w = await world();
      await w.createSegment('recent-buyers', RECENT_BUYERS);
      await w.track('jo', 'Signed Up', T0);
      const jo = await w.profileOf('jo');
      w.betweenReadAndWrite(() => w.eraseProfile(jo));
      await w.track('jo', 'Order Completed', T0);
      assert.deepEqual(await w.members('recent-buyers'), []);
      assert.equal(await w.segmentStore.segmentSize('recent-buyers'), 0);
      assert.deepEqual(await w.feed(at), []);
      assert.equal(await w.runner.nextDueAt(), null, 'no timer for the erased profile');
    });

    it('a second runner that takes the step meanwhile: the first drops its own, nothing is written twice', async () => {
      const w = await world();
      await w.createSegment('recent-buyers', RECENT_BUYERS);
      const other = new AudienceRunner({ store: w.segmentStore, now: () => w.now });
      w.betweenReadAndWrite(() => other.runUntilIdle());
      await w.track('ida', 'Order Completed', T0);
      await other.stop();
      const ida = await w.profileOf('ida');
      assert.deepEqual(await w.members('recent-buyers'), [ida]);
      assert.deepEqual(await w.feed(at, ida), ['entered recent-buyers at T0+0']);
      assert.deepEqual(await w.runner.nextDueAt(), T0 + 30 * DAY, 'one timer, due when the order leaves the window');
    });

    it("a segment deleted between the reload's read and its write: it is still purged, with its timers", async () => {
      const w = await world();
      await w.createSegment('recent-buyers', RECENT_BUYERS);
      await w.createSegment('browsers', "event('Product Viewed').count() >= 1");
      await w.track('kim', 'Order Completed', T0);
      assert.equal(await w.runner.nextDueAt(), T0 + 30 * DAY);
      // Deleting a segment makes the runner reload (no backfill follows); meanwhile the other one is deleted.
      w.betweenReadAndWrite(() => w.segments.delete('recent-buyers'), 'reload');
      await w.segments.delete('browsers');
      await w.runner.runUntilIdle();
      assert.equal(await w.segmentStore.getSegment('recent-buyers'), null, 'purged');
      assert.equal(await w.segmentStore.getSegment('browsers'), null, 'purged');
      assert.deepEqual(await w.members('recent-buyers'), []);
      assert.equal(await w.runner.nextDueAt(), null, "the deleted segment's timer went with it");
    });

    it("a segment edited between the reload's read and its write: the edit is what goes live", async () => {
      const w = await world();
      await w.createSegment('orders', "event('Order Completed').count() >= 1");
      await w.track('lou', 'Order Completed', T0);
      await w.track('max', 'Order Completed', T0);
      await w.track('max', 'Order Completed', T0 - 1);
      w.betweenReadAndWrite(
        async () => void (await w.segments.update('orders', { query: "event('Order Completed').count() >= 2" })),
        'reload',
      );
      await w.createSegment('browsers', "event('Product Viewed').count() >= 1");
      await w.runner.runUntilIdle();
      const segment = await w.segments.get('orders');
      assert.equal(segment.status, 'live');
      assert.equal(segment.query, "event('Order Completed').count() >= 2");
      assert.deepEqual(await w.members('orders'), [await w.profileOf('max')]);
    });

    it('restart with pending timers: the timer survives a close and fires after reopening', async () => {
      const backend = await fresh();
      assert.ok(backend);
      const first = await World.open({ backend });
      await first.createSegment('recent-buyers', RECENT_BUYERS);
      await first.track('gus', 'Order Completed', T0);
      const dir = first.dir;
      await first.close();
      const second = await world({ backend, dir, now: T0 + 29 * DAY });
      await second.runner.runUntilIdle();
      assert.ok(await second.isMember('recent-buyers', 'gus'));
      assert.equal(await second.runner.nextDueAt(), T0 + 30 * DAY);
      await second.advanceTo(T0 + 31 * DAY);
      assert.deepEqual(await second.feed(at, await second.profileOf('gus')), [
        'entered recent-buyers at T0+0',
        'exited recent-buyers at T0+30d',
      ]);
    });

    it('computed traits are kept current and segments read them with trait()', async () => {
      const w = await world();
      await w.segments.createTrait({ id: 'orders-30d', ...ORDERS_IN_30_DAYS });
      await w.runner.runUntilIdle();
      await w.createSegment('repeat', "trait('orders_30d') >= 2");
      await w.track('hal', 'Order Completed', T0);
      const hal = await w.profileOf('hal');
      assert.deepEqual(await w.segmentStore.computedOf(hal), { orders_30d: 1 });
      await w.advanceTo(T0 + DAY);
      await w.track('hal', 'Order Completed', T0 + DAY);
      assert.deepEqual(await w.segmentStore.computedOf(hal), { orders_30d: 2 });
      await w.advanceTo(T0 + 40 * DAY);
      assert.deepEqual(await w.segmentStore.computedOf(hal), { orders_30d: 0 });
      assert.deepEqual(await w.feed(at, hal), ['entered repeat at T0+1d', 'exited repeat at T0+30d']);
    });

    it('loads only the events the definitions read, and a type-only condition reads them all', async () => {
      const w = await world();
      await w.track('ivy', 'Order Completed', T0, { total: 70 });
      await w.track('ivy', 'Product Viewed', T0, { sku: 'a' });
      const ivy = await w.profileOf('ivy');
      const only = (await w.segmentStore.loadProfiles([ivy], { eventNames: new Set(['Order Completed']) })).get(ivy);
      assert.deepEqual(
        only?.events.map((e) => [e.name, e.properties]),
        [['Order Completed', { total: 70 }]],
      );
      const none = (await w.segmentStore.loadProfiles([ivy], { eventNames: new Set() })).get(ivy);
      assert.equal(none?.exists, true);
      assert.deepEqual(none?.events, []);
      const all = (await w.segmentStore.loadProfiles([ivy], { eventNames: null })).get(ivy);
      assert.deepEqual(all?.events.map((e) => e.name).sort(), ['Order Completed', 'Product Viewed']);
      // A segment counting every track event sees the Product Viewed too: the runner loads everything.
      await w.createSegment('busy', "event(type: 'track').within(30 days).count() >= 2");
      assert.deepEqual(await w.members('busy'), [ivy]);
    });

    it('ignores restricted events', async () => {
      const w = await world();
      await w.createSegment('buyers', "event('Order Completed').count() >= 1");
      await w.identify('ivy', { plan: 'free' });
      const ivy = await w.profileOf('ivy');
      await w.store.commitBatch({
        cursorName: 'test-restricted',
        cursorSeq: 1,
        now: w.now,
        failed: [],
        events: [
          {
            event: {
              sourceId: 'src-test',
              messageId: 'restricted-1',
              type: 'track',
              name: 'Order Completed',
              userId: 'ivy',
              anonymousId: null,
              timestamp: T0,
              receivedAt: T0,
            },
            payload: JSON.stringify({ type: 'track', event: 'Order Completed', userId: 'ivy', properties: {} }),
            ident: 'user_id:ivy',
            restricted: true,
          },
        ],
      });
      await w.runner.runUntilIdle();
      assert.deepEqual(await w.members('buyers'), []);
      await w.track('ivy', 'Order Completed', T0);
      assert.deepEqual(await w.members('buyers'), [ivy]);
    });
  });

  describe(`backfill on ${name}`, { skip: !reachable && 'PostgreSQL is not reachable' }, () => {
    it('computes a new segment over existing profiles without publishing entries, then goes live', async () => {
      const w = await world({ limits: { backfillChunk: 2 } });
      for (const user of ['u1', 'u2', 'u3', 'u4', 'u5']) await w.track(user, 'Order Completed', T0 - DAY);
      await w.track('u6', 'Page Viewed', T0);
      const created = await w.segments.create({ id: 'buyers', name: 'Buyers', query: RECENT_BUYERS });
      assert.equal(created.status, 'computing');
      await w.runner.step();
      const during = await w.segments.get('buyers');
      assert.equal(during.status, 'computing');
      assert.ok(during.progress > 0 && during.progress < 1, `progress ${during.progress}`);
      await w.runner.runUntilIdle();
      const live = await w.segments.get('buyers');
      assert.equal(live.status, 'live');
      assert.equal(live.size, 5);
      assert.equal((await w.segments.audienceEvents({ after: 0, limit: 100 })).items.length, 0, 'initial members are not entries');
      assert.equal((await w.segments.history('buyers', 10)).items.at(-1)?.size, 5);
      await w.track('u6', 'Order Completed', T0);
      assert.deepEqual(
        (await w.segments.audienceEvents({ after: 0, limit: 100 })).items.map((e) => [e.event, e.profileId]),
        [['Audience Entered', await w.profileOf('u6')]],
      );
    });

    it('events arriving mid-backfill are evaluated once, under one definition, and publish nothing for the new segment', async () => {
      const w = await world({ limits: { backfillChunk: 1 } });
      for (const user of ['a', 'b', 'c', 'd']) await w.track(user, 'Product Viewed', T0);
      // `last()` keeps this rule on the per-profile backfill, whose chunks this is about (the SQL fast path's
      // mid-backfill case is in fast-backfill.test.ts).
      await w.segments.create({
        id: 'viewers2',
        name: 'Viewers',
        query: "event('Product Viewed').count() >= 2 AND event('Product Viewed').last().is_set()",
      });
      await w.runner.step();
      // Everyone views again while the backfill has covered only part of the profiles.
      await w.log.append({
        sourceId: 'src-test',
        receivedAt: w.now,
        typeHint: null,
        shape: 'batch',
        body: JSON.stringify({
          batch: ['a', 'b', 'c', 'd'].map((u, i) => ({
            type: 'track',
            userId: u,
            event: 'Product Viewed',
            messageId: `mid-${i}`,
            timestamp: new Date(T0).toISOString(),
          })),
        }),
        messages: 4,
      });
      while ((await w.processor.runOnce()) > 0);
      await w.runner.runUntilIdle();
      assert.equal((await w.segments.get('viewers2')).status, 'live');
      assert.equal((await w.members('viewers2')).length, 4);
      assert.equal((await w.segments.audienceEvents({ after: 0, limit: 100 })).items.length, 0);
    });

    it('a backfill chunk reads and evaluates outside the write lock: a profile erased meanwhile gets nothing', async () => {
      const w = await world();
      await w.track('kim', 'Order Completed', T0);
      await w.track('lou', 'Order Completed', T0);
      const [kim, lou] = [await w.profileOf('kim'), await w.profileOf('lou')];
      w.betweenReadAndWrite(() => w.eraseProfile(kim), 'backfill');
      await w.createSegment('recent-buyers', RECENT_BUYERS);
      assert.deepEqual(await w.members('recent-buyers'), [lou]);
      assert.equal(await w.segmentStore.segmentSize('recent-buyers'), 1);
      assert.equal(await w.runner.nextDueAt(), T0 + 30 * DAY, "only lou's timer");
    });

    it('a second runner that moves the backfill meanwhile: the first drops its chunk and takes up the stored job', async () => {
      const w = await world({ limits: { backfillChunk: 1 } });
      for (const user of ['mo', 'ned', 'ola']) await w.track(user, 'Order Completed', T0);
      const other = new AudienceRunner({ store: w.segmentStore, now: () => w.now, limits: { backfillChunk: 1 } });
      w.betweenReadAndWrite(() => other.step().then(() => undefined), 'backfill');
      await w.createSegment('recent-buyers', RECENT_BUYERS);
      await other.stop();
      const members = await Promise.all(['mo', 'ned', 'ola'].map((u) => w.profileOf(u)));
      assert.deepEqual((await w.members('recent-buyers')).sort(), members.sort());
      assert.equal(await w.segmentStore.segmentSize('recent-buyers'), 3, 'each counted once');
      const { items } = await w.segments.audienceEvents({ after: 0, limit: 100 });
      assert.deepEqual(items, [], 'a new segment publishes nothing for its backfill');
    });

    it('editing a live segment recomputes it and publishes who enters and who leaves', async () => {
      const w = await world();
      await w.createSegment('spenders', "event('Order Completed').where(property('total') > 100).count() >= 1");
      await w.track('big', 'Order Completed', T0, { total: 150 });
      await w.track('mid', 'Order Completed', T0, { total: 80 });
      const feedBefore = (await w.segments.audienceEvents({ after: 0, limit: 100 })).nextAfter;
      const edited = await w.segments.update('spenders', {
        query:
          "event('Order Completed').where(property('total') > 50).count() >= 1 AND event('Order Completed').where(property('total') > 120).count() = 0",
      });
      assert.equal(edited.status, 'computing');
      await w.runner.runUntilIdle();
      assert.equal((await w.segments.get('spenders')).status, 'live');
      const changes = (await w.segments.audienceEvents({ after: feedBefore, limit: 100 })).items;
      assert.deepEqual(
        changes.map((e) => [e.event, e.profileId, e.cause]).sort(),
        [
          ['Audience Entered', await w.profileOf('mid'), 'backfill'],
          ['Audience Exited', await w.profileOf('big'), 'backfill'],
        ].sort(),
      );
    });

    it('with nothing defined it only follows the events; the first segment is then computed over them', async () => {
      const w = await world();
      await w.track('ann', 'Order Completed', T0);
      await w.track('bob', 'Product Viewed', T0);
      const count = async (table: string) => Number((await w.sql<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))[0]?.n);
      const seq = (await w.sql<{ seq: number }>('SELECT max(seq) AS seq FROM events'))[0]?.seq;
      const cursor = (await w.sql<{ value: number }>("SELECT value FROM audience_cursors WHERE name = 'events'"))[0]?.value;
      assert.equal(Number(cursor), Number(seq), 'the runner has followed every event');
      assert.equal(await count('audience_profiles'), 0, 'and evaluated no profile: there was nothing to evaluate');
      await w.createSegment('recent-buyers', RECENT_BUYERS);
      assert.deepEqual(await w.members('recent-buyers'), [await w.profileOf('ann')]);
      await w.track('bob', 'Order Completed', T0);
      assert.ok(await w.isMember('recent-buyers', 'bob'), 'and the runner evaluates again');
    });

    it('events passed while nothing was defined still count in a history the runner kept from before', async () => {
      const w = await world();
      await w.createSegment('buyers', RECENT_BUYERS);
      await w.track('ann', 'Order Completed', T0);
      assert.ok(await w.isMember('buyers', 'ann'), 'her history is now kept between steps');
      await w.segments.delete('buyers');
      await w.runner.runUntilIdle();
      // Nothing is defined: the runner passes this order without reading it.
      await w.advanceTo(T0 + MINUTE);
      await w.track('ann', 'Order Completed', T0 + MINUTE);
      const seq = (await w.sql<{ seq: number }>('SELECT max(seq) AS seq FROM events'))[0]?.seq;
      const cursor = (await w.sql<{ value: number }>("SELECT value FROM audience_cursors WHERE name = 'events'"))[0]?.value;
      assert.equal(Number(cursor), Number(seq), 'the runner has passed her second order');
      // Read with the same events as before, so the kept history is still trusted.
      await w.createSegment('regulars', "event('Order Completed').within(30 days).count() >= 3");
      assert.equal(await w.isMember('regulars', 'ann'), false, 'two orders');
      await w.advanceTo(T0 + 2 * MINUTE);
      await w.track('ann', 'Order Completed', T0 + 2 * MINUTE);
      assert.ok(await w.isMember('regulars', 'ann'), 'her third order counts the one passed while nothing was defined');
    });

    it('what the runner keeps of a profile between steps follows a change made by anyone else', async () => {
      const w = await world();
      const counter = async () => Number((await w.sql<{ n: number }>('SELECT n FROM audience_writes WHERE id = 1'))[0]?.n);
      await w.createSegment('recent-buyers', RECENT_BUYERS);
      await w.track('ann', 'Order Completed', T0);
      const ann = await w.profileOf('ann');
      const before = await counter();
      await w.track('ann', 'Order Completed', T0 + HOUR);
      assert.equal(await counter(), before, "the runner's own writes leave the counter as it was");
      // A tool (or an erasure's partial work) removes the membership behind the runner's back.
      await w.sql('DELETE FROM segment_memberships WHERE profile_id = ?', [ann]);
      assert.ok((await counter()) > before, 'anyone else moves it');
      await w.track('ann', 'Order Completed', T0 + 2 * HOUR);
      assert.ok(await w.isMember('recent-buyers', 'ann'), 'read again, the membership is gone: she enters again');
    });

    it('a purged segment leaves nothing behind in what the runner keeps: its successor under the same id starts clean', async () => {
      const w = await world();
      await w.createSegment('buyers', RECENT_BUYERS);
      await w.track('ann', 'Order Completed', T0);
      await w.track('ann', 'Product Viewed', T0 + MINUTE);
      assert.ok(await w.isMember('buyers', 'ann'));
      await w.segments.delete('buyers');
      await w.runner.runUntilIdle();
      await w.createSegment('buyers', LOYAL);
      assert.equal(await w.isMember('buyers', 'ann'), false, 'one order is not loyal');
      const feedBefore = (await w.segments.audienceEvents({ after: 0, limit: 1000 })).items.length;
      await w.advanceTo(T0 + HOUR);
      await w.track('ann', 'Order Completed', T0 + HOUR);
      assert.ok(await w.isMember('buyers', 'ann'), 'her second order brings her in');
      const changes = (await w.segments.audienceEvents({ after: 0, limit: 1000 })).items.slice(feedBefore);
      assert.deepEqual(
        changes.map((e) => [e.event, e.segmentId]),
        [['Audience Entered', 'buyers']],
      );
      assert.equal(await w.segmentStore.segmentSize('buyers'), 1);
    });

    it('deleting a segment removes its members and timers; one still included by another is refused', async () => {
      const w = await world();
      await w.createSegment('recent-buyers', RECENT_BUYERS);
      await w.createSegment('vip', "segment('recent-buyers') AND trait('plan') = 'pro'");
      await w.track('jo', 'Order Completed', T0);
      await assert.rejects(w.segments.delete('recent-buyers'), { code: 'conflict' });
      await w.segments.delete('vip');
      await w.segments.delete('recent-buyers');
      await w.runner.runUntilIdle();
      assert.deepEqual(await w.members('recent-buyers'), []);
      assert.equal(await w.runner.nextDueAt(), null);
      await assert.rejects(w.segments.get('recent-buyers'), { code: 'not_found' });
    });
  });
}
