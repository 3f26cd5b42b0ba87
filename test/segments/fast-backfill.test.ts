/**
 * The backfill's SQL fast path through the real pipeline, on both backends: only candidates are
 * evaluated, yet the result is the reference engine's — exit timers of window members, profiles whose
 * future events will make them enter, profiles touched mid-backfill that were not candidates, and
 * members of an edited rule that the new rule drops. The preview answers from SQL for the same rules.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { postgresTestUrl } from '../support/postgres.ts';
import { DAY, HOUR, sqliteBackend, T0, World, type Backend } from './world.ts';

const worlds: World[] = [];
const drops: Array<() => Promise<void>> = [];
after(async () => {
  for (const w of worlds) await w.close().catch(() => {});
  for (const drop of drops) await drop();
});

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
  async function world(limits = { backfillChunk: 1 }): Promise<World> {
    const backend = await fresh();
    assert.ok(backend);
    const w = await World.open({ backend, limits });
    worlds.push(w);
    return w;
  }

  describe(`fast backfill on ${name}`, { skip: reachable ? false : 'PostgreSQL is not reachable' }, () => {
    it('members keep their exit timers and future events still bring profiles in, at the exact instant', async () => {
      const w = await world();
      for (const t of [T0 - 2 * DAY, T0 - DAY, T0 - DAY]) await w.track('leaves', 'Order Completed', t);
      for (const t of [T0 - DAY, T0 - HOUR, T0 + HOUR]) await w.track('later', 'Order Completed', t);
      await w.track('never', 'Order Completed', T0 - 10 * DAY);
      await w.segments.create({ id: 'buyers', name: 'buyers', query: "event('Order Completed').within(3 days).count() >= 3" });
      assert.equal((await w.segments.preview({ query: "event('Order Completed').within(3 days).count() >= 3" })).method, 'sql');
      await w.runner.runUntilIdle();
      assert.equal((await w.segments.get('buyers')).status, 'live');
      assert.deepEqual(await w.members('buyers'), [await w.profileOf('leaves')]);
      await w.advanceTo(T0 + HOUR - 1);
      assert.equal(await w.isMember('buyers', 'later'), false);
      await w.advanceTo(T0 + HOUR);
      assert.equal(await w.isMember('buyers', 'later'), true, 'enters when its future order happens');
      await w.advanceTo(T0 + DAY - 1);
      assert.equal(await w.isMember('buyers', 'leaves'), true);
      await w.advanceTo(T0 + DAY);
      assert.equal(await w.isMember('buyers', 'leaves'), false, 'leaves when its oldest order leaves the window');
    });

    it('a profile that was no candidate but gets events mid-backfill is evaluated under the new rule', async () => {
      const w = await world();
      for (const user of ['x', 'y']) for (let i = 0; i < 2; i++) await w.track(user, 'Product Viewed', T0 - DAY);
      for (const user of ['a', 'b', 'c', 'd']) await w.track(user, 'Product Viewed', T0 - DAY);
      await w.segments.create({ id: 'viewers', name: 'viewers', query: "event('Product Viewed').count() >= 2" });
      await w.runner.step();
      assert.equal((await w.segments.get('viewers')).status, 'computing');
      // They view again while the backfill is mid-way: through the log and the processor only, then the runner.
      await w.log.append({
        sourceId: 'src-test',
        receivedAt: w.now,
        typeHint: null,
        shape: 'batch',
        body: JSON.stringify({
          batch: ['a', 'b', 'c', 'd'].map((u) => ({
            type: 'track',
            userId: u,
            event: 'Product Viewed',
            messageId: `again-${u}`,
            timestamp: new Date(T0).toISOString(),
          })),
        }),
        messages: 4,
      });
      while ((await w.processor.runOnce()) > 0);
      await w.runner.runUntilIdle();
      assert.equal((await w.segments.get('viewers')).status, 'live');
      assert.equal((await w.members('viewers')).length, 6);
      assert.equal((await w.segments.audienceEvents({ after: 0, limit: 100 })).items.length, 0, 'a new segment publishes no entries');
    });

    it('an edited rule drops the members it no longer selects, though they are no candidates of the new rule', async () => {
      const w = await world({ backfillChunk: 250 });
      await w.createSegment('spenders', "event('Order Completed').where(property('total') > 100).count() >= 1");
      await w.track('big', 'Order Completed', T0 - HOUR, { total: 150 });
      await w.track('huge', 'Order Completed', T0 - HOUR, { total: 5000 });
      const feed = (await w.segments.audienceEvents({ after: 0, limit: 100 })).nextAfter;
      await w.segments.update('spenders', { query: "event('Order Completed').where(property('total') > 1000).count() >= 1" });
      await w.runner.runUntilIdle();
      assert.deepEqual(await w.members('spenders'), [await w.profileOf('huge')]);
      const changes = (await w.segments.audienceEvents({ after: feed, limit: 100 })).items;
      assert.deepEqual(
        changes.map((e) => [e.event, e.profileId, e.cause]),
        [['Audience Exited', await w.profileOf('big'), 'backfill']],
      );
    });

    it('preview: SQL for supported rules (with type-strict =), the evaluator for the rest, same answers', async () => {
      const w = await world();
      await w.track('s', 'Order Completed', T0 - HOUR, { total: '5' });
      await w.track('n', 'Order Completed', T0 - HOUR, { total: 5 });
      await w.track('f', 'Order Completed', T0 + HOUR, { total: 5 });
      const sqlPreview = await w.segments.preview({ query: "event('Order Completed').where(property('total') = 5).count() >= 1" });
      assert.equal(sqlPreview.method, 'sql');
      assert.deepEqual(sqlPreview.sample, [await w.profileOf('n')], "'5' is not 5, and a future order is not seen");
      const scan = await w.segments.preview({
        query: "event('Order Completed').where(property('total') = 5).last() < 0 OR trait('x').within_last(1 days)",
      });
      assert.equal(scan.method, 'scan');
    });
  });
}
