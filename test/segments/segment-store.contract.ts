/**
 * The segment storage contract: what both adapters must do, run unchanged against SQLite and
 * PostgreSQL. Each test owns its data through unique segment, profile and trait ids. (The runner's
 * reads of the core tables — events, identities, merge log — are exercised on both backends by
 * `audience-runner.test.ts`.)
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Condition } from '../../src/core/segments/index.ts';
import type { AudienceTx, ProfileWrite, SegmentRecord, SegmentStore } from '../../src/storage/segments/segment-store.ts';
import { SIZE_BUCKET_MS } from '../../src/storage/segments/sql-audience-tx.ts';
import type { Store } from '../../src/storage/store.ts';
import { aBatch, anEvent } from '../storage/store.contract.ts';

const T0 = Date.UTC(2026, 0, 1);
const uid = (prefix: string) => `${prefix}-${randomUUID()}`;
const RULE: Condition = { kind: 'trait', path: 'plan', comparison: { op: '=', value: 'pro' } };
const OTHER_RULE: Condition = { kind: 'trait', path: 'plan', comparison: { op: '=', value: 'free' } };

export function aSegment(spec: Partial<SegmentRecord> = {}): SegmentRecord {
  return {
    id: uid('seg'),
    name: 'Pro users',
    description: null,
    query: "trait('plan') = 'pro'",
    rule: RULE,
    liveRule: null,
    generation: 1,
    status: 'computing',
    progress: 0,
    error: null,
    deleted: false,
    createdAt: T0,
    updatedAt: T0,
    liveAt: null,
    ...spec,
  };
}

function aWrite(profileId: string, spec: Partial<ProfileWrite> = {}): ProfileWrite {
  return {
    profileId,
    entered: [],
    exited: [],
    publish: new Set(),
    cause: 'event',
    computedSet: [],
    computedDeleted: [],
    timers: [],
    known: false,
    at: T0,
    ...spec,
  };
}

export function segmentStoreContract(name: string, open: () => Promise<{ store: Store; segments: SegmentStore }>): void {
  describe(`${name} segment store contract`, () => {
    let store: Store;
    let s: SegmentStore;
    before(async () => {
      ({ store, segments: s } = await open());
      await store.migrate();
      await s.migrate();
      await s.migrate();
    });
    after(async () => {
      await s.close();
      await store.close();
    });

    const withLease = async <T>(work: (tx: AudienceTx) => Promise<T>): Promise<T> => {
      const lease = await s.acquireLease();
      assert.ok(lease);
      try {
        return await lease.run(work);
      } finally {
        await lease.release();
      }
    };

    it('creates, reads, lists and refuses a taken id; every definition change bumps the version', async () => {
      const v0 = await s.definitionsVersion();
      const seg = aSegment();
      assert.equal(await s.createSegment(seg), true);
      assert.equal(await s.createSegment(seg), false);
      assert.deepEqual(await s.getSegment(seg.id), seg);
      assert.ok((await s.listSegments()).some((x) => x.id === seg.id));
      assert.equal(await s.definitionsVersion(), v0 + 1);
    });

    it('a new rule bumps the generation and computes again; a rename does not', async () => {
      const seg = aSegment({ status: 'live', liveRule: RULE, liveAt: T0, progress: 1 });
      await s.createSegment(seg);
      const v = await s.definitionsVersion();
      const renamed = await s.updateSegment(seg.id, { name: 'Renamed', rule: RULE }, T0 + 1);
      assert.equal(renamed?.generation, 1);
      assert.equal(renamed?.status, 'live');
      assert.equal(await s.definitionsVersion(), v);
      const edited = await s.updateSegment(seg.id, { rule: OTHER_RULE }, T0 + 2);
      assert.deepEqual(
        [edited?.generation, edited?.status, edited?.progress, edited?.liveAt, edited?.liveRule],
        [2, 'computing', 0, null, RULE],
        'the old rule stays live while the new one computes',
      );
      assert.equal(await s.definitionsVersion(), v + 1);
      assert.deepEqual(await s.getSegment(seg.id), edited);
      assert.equal(await s.updateSegment(uid('missing'), { name: 'x' }, T0), null);
    });

    it('goes live only for the generation it computed', async () => {
      const seg = aSegment();
      await s.createSegment(seg);
      await s.updateSegment(seg.id, { rule: OTHER_RULE }, T0 + 1);
      assert.equal(await withLease((tx) => tx.goLive('segment', seg.id, 1, T0 + 2)), false, 'edited since: stays computing');
      assert.equal(await withLease((tx) => tx.goLive('segment', seg.id, 2, T0 + 3)), true);
      const live = await s.getSegment(seg.id);
      assert.deepEqual([live?.status, live?.progress, live?.liveAt, live?.liveRule], ['live', 1, T0 + 3, OTHER_RULE]);
    });

    it('a deleted segment is hidden at once and keeps its id until the runner purges it', async () => {
      const seg = aSegment();
      await s.createSegment(seg);
      assert.equal(await s.deleteSegment(seg.id, T0), true);
      assert.equal(await s.deleteSegment(seg.id, T0), false);
      assert.equal(await s.getSegment(seg.id), null);
      assert.ok(!(await s.listSegments()).some((x) => x.id === seg.id));
      assert.equal(await s.createSegment(seg), false);
      const tombstone = (await withLease((tx) => tx.listSegments())).find((x) => x.id === seg.id);
      assert.equal(tombstone?.deleted, true);
      await withLease((tx) => tx.purgeSegment(seg.id));
      assert.equal(await s.createSegment(seg), true);
    });

    it("purging a deleted segment or computed trait removes its timers and no one else's", async () => {
      const [gone, kept] = [aSegment(), aSegment()];
      await s.createSegment(gone);
      await s.createSegment(kept);
      const [p1, p2] = [uid('p'), uid('p')];
      const timers = (...targets: string[]) => targets.map((target, i) => ({ target, dueAt: T0 + 1 + i }));
      await withLease((tx) =>
        tx.apply([
          aWrite(p1, { timers: timers(`segment:${gone.id}`, `segment:${kept.id}`, 'trait:t-gone', 'trait:t-kept') }),
          aWrite(p2, { timers: timers(`segment:${gone.id}`) }),
        ]),
      );
      await s.deleteSegment(gone.id, T0);
      await withLease(async (tx) => {
        await tx.purgeSegment(gone.id);
        await tx.purgeComputedTrait('t-gone', null);
      });
      const left = (await withLease((tx) => tx.dueTimers(T0 + 100, 100)))
        .filter((r) => r.profileId === p1 || r.profileId === p2)
        .map((r) => `${r.profileId === p1 ? 'p1' : 'p2'} ${r.target.kind}:${r.target.id === kept.id ? 'kept' : r.target.id}`);
      assert.deepEqual(left, ['p1 segment:kept', 'p1 trait:t-kept']);
    });

    it("dropping a computed trait's key removes that key's values and no one else's", async () => {
      const [p1, p2] = [uid('p'), uid('p')];
      const [gone, kept] = [uid('key'), uid('key')];
      await withLease((tx) =>
        tx.apply([
          aWrite(p1, {
            computedSet: [
              { key: gone, value: 1 },
              { key: kept, value: 'a' },
            ],
          }),
          aWrite(p2, { computedSet: [{ key: gone, value: 2 }] }),
        ]),
      );
      await withLease((tx) => tx.dropComputedKey(gone));
      assert.deepEqual(await s.computedOf(p1), { [kept]: 'a' });
      assert.deepEqual(await s.computedOf(p2), {});
    });

    it('computed traits: create, update (generation), delete', async () => {
      const definition = { kind: 'event_counter' as const, key: uid('key'), event: { name: 'Order Completed' } };
      const t = {
        id: uid('trait'),
        name: 'Orders',
        definition,
        liveDefinition: null,
        generation: 1,
        status: 'computing' as const,
        progress: 0,
        error: null,
        deleted: false,
        createdAt: T0,
        updatedAt: T0,
        liveAt: null,
      };
      assert.equal(await s.createComputedTrait(t), true);
      assert.deepEqual(await s.getComputedTrait(t.id), t);
      const next = await s.updateComputedTrait(
        t.id,
        { definition: { ...definition, window: { kind: 'within', amount: 7, unit: 'days' } } },
        T0 + 1,
      );
      assert.equal(next?.generation, 2);
      assert.equal(await s.deleteComputedTrait(t.id, T0 + 2), true);
      assert.equal(await s.getComputedTrait(t.id), null);
    });

    it('applies plans: memberships, sizes, the feed (published segments only), timers, computed values, known profiles', async () => {
      const live = aSegment({ liveRule: RULE, status: 'live' });
      const fresh = aSegment();
      await s.createSegment(live);
      await s.createSegment(fresh);
      const [p1, p2] = [uid('p'), uid('p')].sort() as [string, string];
      const key = uid('key');
      await withLease((tx) =>
        tx.apply([
          aWrite(p1, {
            entered: [
              { segmentId: live.id, at: T0 },
              { segmentId: fresh.id, at: T0 },
            ],
            publish: new Set([live.id]),
            timers: [{ target: `segment:${live.id}`, dueAt: T0 + 10 }],
            computedSet: [{ key, value: { n: [1, 'two'] } }],
            known: true,
          }),
          aWrite(p2, {
            entered: [{ segmentId: live.id, at: T0 + 1 }],
            publish: new Set([live.id]),
            timers: [{ target: `trait:x`, dueAt: T0 + 5 }],
          }),
        ]),
      );
      assert.equal(await s.segmentSize(live.id), 2);
      assert.equal(await s.segmentSize(fresh.id), 1);
      assert.deepEqual(await s.members(live.id, { limit: 1 }), [{ profileId: p1, since: T0 }]);
      assert.deepEqual(await s.members(live.id, { afterProfileId: p1, limit: 10 }), [{ profileId: p2, since: T0 + 1 }]);
      assert.deepEqual(await s.segmentsOf(p1), [live.id], 'only segments that have been live');
      assert.deepEqual(await s.computedOf(p1), { [key]: { n: [1, 'two'] } });
      const feed = await s.audienceEvents({ afterId: 0, limit: 100, segmentId: live.id });
      assert.deepEqual(
        feed.map((e) => [e.profileId, e.kind, e.at, e.cause]),
        [
          [p1, 'entered', T0, 'event'],
          [p2, 'entered', T0 + 1, 'event'],
        ],
      );
      assert.deepEqual(await s.audienceEvents({ afterId: feed[0]!.id, limit: 100, segmentId: live.id }), [feed[1]]);
      assert.deepEqual(await s.audienceEvents({ afterId: 0, limit: 100, segmentId: fresh.id }), [], 'never-live segments publish nothing');
      const states = await s.loadProfiles([p1, p2]);
      assert.equal(states.get(p1)?.known, true);
      assert.equal(states.get(p2)?.known, false);
      assert.deepEqual(
        [...(states.get(p1)?.memberships ?? [])].sort(),
        [
          [fresh.id, T0],
          [live.id, T0],
        ].sort(),
      );
      assert.equal(states.get(p1)?.exists, false, 'no such profile in the profiles table');

      // Due timers come out in order, and stay until removed; a cancelled one never does.
      await withLease((tx) => tx.apply([aWrite(p1, { timers: [{ target: `segment:${live.id}`, dueAt: null }] })]));
      const lease = await s.acquireLease();
      assert.ok(lease);
      const due = await lease
        .read(async (view) => [await view.dueTimers(T0 + 100, 10), await view.dueTimers(T0 + 100, 10)])
        .finally(() => lease.release());
      const expected = [{ profileId: p2, target: { kind: 'trait', id: 'x' }, dueAt: T0 + 5 }];
      for (const list of due)
        assert.deepEqual(
          list.filter((r) => r.profileId === p1 || r.profileId === p2),
          expected,
        );
      assert.equal(
        await withLease(async (tx) => (await tx.existingProfiles([p1, p2, store.backend])).size),
        0,
        'none of them is a profile',
      );
      // A timer is removed only while it is due at the instant read: one moved since stays.
      await withLease((tx) => tx.apply([aWrite(p2, { timers: [{ target: 'segment:moved', dueAt: T0 + 6 }] })]));
      await withLease((tx) =>
        tx.removeTimers([
          { profileId: p2, target: { kind: 'trait', id: 'x' }, dueAt: T0 + 5 },
          { profileId: p2, target: { kind: 'segment', id: 'moved' }, dueAt: T0 + 1 },
        ]),
      );
      assert.deepEqual(
        (await withLease((tx) => tx.dueTimers(T0 + 100, 10))).filter((r) => r.profileId === p2),
        [{ profileId: p2, target: { kind: 'segment', id: 'moved' }, dueAt: T0 + 6 }],
      );
      await withLease((tx) => tx.apply([aWrite(p2, { timers: [{ target: 'segment:moved', dueAt: null }] })]));

      // Exits and a dropped profile.
      await withLease((tx) =>
        tx.apply([aWrite(p2, { exited: [{ segmentId: live.id, at: T0 + 7 }], publish: new Set([live.id]), cause: 'timer' })]),
      );
      await withLease((tx) => tx.dropProfile(p1, T0 + 8, new Set([live.id]), 'merge'));
      assert.equal(await s.segmentSize(live.id), 0);
      assert.equal(await s.segmentSize(fresh.id), 0);
      assert.deepEqual(await s.computedOf(p1), {});
      const exits = (await s.audienceEvents({ afterId: feed[1]!.id, limit: 100, segmentId: live.id })).map((e) => [
        e.profileId,
        e.kind,
        e.cause,
      ]);
      assert.deepEqual(exits, [
        [p2, 'exited', 'timer'],
        [p1, 'exited', 'merge'],
      ]);
      const history = await s.sizeHistory(live.id, { limit: 10 });
      assert.deepEqual(history, [{ at: Math.floor(T0 / SIZE_BUCKET_MS) * SIZE_BUCKET_MS, size: 0 }], 'one point per bucket: the last size');
    });

    it('a runner transaction is all or nothing', async () => {
      const seg = aSegment({ liveRule: RULE, status: 'live' });
      await s.createSegment(seg);
      const p = uid('p');
      const cursor = uid('cursor');
      await assert.rejects(
        withLease(async (tx) => {
          await tx.apply([aWrite(p, { entered: [{ segmentId: seg.id, at: T0 }], publish: new Set([seg.id]) })]);
          await tx.setCursor(cursor, 42);
          throw new Error('crash before commit');
        }),
        /crash before commit/,
      );
      assert.deepEqual(await s.members(seg.id, { limit: 10 }), []);
      assert.equal(await withLease((tx) => tx.cursor(cursor)), 0);
      await withLease((tx) => tx.setCursor(cursor, 42));
      assert.equal(await withLease((tx) => tx.cursor(cursor)), 42);
    });

    it('keeps the backfill job', async () => {
      const body = JSON.stringify({ signature: uid('sig'), cursor: 'abc' });
      await withLease((tx) => tx.setJob(body));
      assert.equal(await withLease((tx) => tx.job()), body);
      await withLease((tx) => tx.setJob(null));
      assert.equal(await withLease((tx) => tx.job()), null);
    });

    it("tells how far the runner's cursor is behind the stored events, and the oldest one's arrival", async () => {
      await store.commitBatch(
        aBatch({ events: [1000, 2000, 3000].map((receivedAt) => anEvent({ sourceId: 'src-backlog', receivedAt, timestamp: receivedAt })) }),
      );
      const latest = (await s.latestPositions()).eventSeq;
      const cursor = uid('cursor');
      await withLease((tx) => tx.setCursor(cursor, latest - 2));
      assert.deepEqual(await s.runnerBacklog(cursor), { events: 2, oldestReceivedAt: 2000 });
      await withLease((tx) => tx.setCursor(cursor, latest));
      assert.deepEqual(await s.runnerBacklog(cursor), { events: 0, oldestReceivedAt: null });
    });

    it('tells the earliest pending timer', async () => {
      const lease = await s.acquireLease();
      assert.ok(lease);
      try {
        const p = uid('p');
        await lease.run((tx) => tx.apply([aWrite(p, { timers: [{ target: 'segment:z', dueAt: 1000 }] })]));
        assert.equal(await lease.nextDueAt(), 1000);
        await lease.run((tx) => tx.apply([aWrite(p, { timers: [{ target: 'segment:z', dueAt: null }] })]));
      } finally {
        await lease.release();
      }
    });
  });
}
