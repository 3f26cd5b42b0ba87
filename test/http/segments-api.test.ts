/**
 * Segments end to end on a running Tessera (processor and audience runner in their worker thread), on
 * SQLite and PostgreSQL: create from query text → backfill → live → members → a new event makes a new
 * member → the audience-events feed shows Audience Entered; plus preview, parse errors, the profile
 * body, size history, CSV export and computed traits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { basicAuth, type Harness } from '../support/harness.ts';
import { backends, startPerBackend } from '../support/backends.ts';
import { eventually } from '../support/eventually.ts';
import { ORDERS_IN_30_DAYS } from '../support/fixtures.ts';

const REPEAT_BUYERS = "event('Order Completed').within(30 days).count() >= 2";

for (const backend of backends) {
  describe(`segments API on ${backend.name}`, () => {
    let h: Harness | undefined;
    let n = 0;
    const send = async (batch: Array<Record<string, unknown>>) => {
      const res = await fetch(`${h!.url}/v1/batch`, {
        method: 'POST',
        headers: { authorization: basicAuth(h!.writeKey), 'content-type': 'application/json' },
        body: JSON.stringify({ batch: batch.map((m) => ({ messageId: `m${++n}`, timestamp: new Date().toISOString(), ...m })) }),
      });
      assert.equal(res.status, 200);
      await h!.drained();
    };
    const json = async <T>(path: string, init?: RequestInit) => {
      const res = await h!.admin(path, init);
      return { status: res.status, body: (await res.json()) as T };
    };
    const profileOf = async (userId: string) =>
      (await json<{ id: string }>(`/api/v1/profiles/lookup?type=user_id&value=${userId}`)).body.id;
    const members = async (id: string) =>
      (await json<{ items: Array<{ profileId: string; since: string }> }>(`/api/v1/segments/${id}/members`)).body.items.map(
        (m) => m.profileId,
      );

    startPerBackend(backend, (started) => (h = started));

    it('create from query text → backfill → live → members; a new event makes a new member, published as Audience Entered', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      await send([
        { type: 'track', userId: 'ann', event: 'Order Completed' },
        { type: 'track', userId: 'ann', event: 'Order Completed' },
        { type: 'track', userId: 'bob', event: 'Order Completed' },
      ]);
      const ann = await profileOf('ann');
      const bob = await profileOf('bob');

      const preview = await json<{ count: number; sample: string[]; evaluatedProfiles: number }>('/api/v1/segments/preview', {
        method: 'POST',
        body: JSON.stringify({ query: REPEAT_BUYERS }),
      });
      assert.equal(preview.status, 200);
      assert.deepEqual([preview.body.count, preview.body.sample, preview.body.evaluatedProfiles], [1, [ann], 2]);

      const created = await json<{ id: string; name: string; query: string; definition: { kind: string }; status: string }>(
        '/api/v1/segments',
        {
          method: 'POST',
          body: JSON.stringify({ name: 'Repeat buyers', query: REPEAT_BUYERS }),
        },
      );
      assert.equal(created.status, 201);
      assert.equal(created.body.name, 'Repeat buyers');
      assert.equal(created.body.query, REPEAT_BUYERS);
      assert.equal(created.body.definition.kind, 'event');
      assert.ok(['computing', 'live'].includes(created.body.status));
      const id = created.body.id;

      const live = await eventually('the backfill', async () => {
        const s = await json<{ status: string; size: number }>(`/api/v1/segments/${id}`);
        return s.body.status === 'live' ? s.body : undefined;
      });
      assert.equal(live.size, 1);
      assert.deepEqual(await members(id), [ann]);
      assert.deepEqual(
        (await json<{ items: unknown[] }>(`/api/v1/audience-events?segmentId=${id}`)).body.items,
        [],
        'initial members are not entries',
      );

      await send([{ type: 'track', userId: 'bob', event: 'Order Completed' }]);
      await eventually('bob to enter', async () => ((await members(id)).includes(bob) ? true : undefined));
      const feed = await json<{ items: Array<{ event: string; segmentId: string; profileId: string; cause: string }>; nextAfter: number }>(
        `/api/v1/audience-events?after=0&segmentId=${id}`,
      );
      assert.deepEqual(
        feed.body.items.map((e) => [e.event, e.segmentId, e.profileId, e.cause]),
        [['Audience Entered', id, bob, 'event']],
      );
      assert.ok(feed.body.nextAfter > 0);
      // The runner's thread reports its steps: they reach /metrics on the main thread.
      const metrics = await eventually('the audience step metrics', async () => {
        const text = await (await h!.admin('/metrics')).text();
        return /^tessera_audience_events_total [1-9]/m.test(text) ? text : undefined;
      });
      assert.match(metrics, /^tessera_audience_profiles_evaluated_total [1-9]/m);
      // Bob's order has been evaluated: nothing stored is waiting for the runner.
      assert.match(metrics, /^tessera_audience_backlog_events 0$/m);
      assert.match(metrics, /^tessera_audience_lag_seconds 0$/m);
      for (const phase of ['read', 'evaluate', 'lock_wait', 'write'])
        assert.match(metrics, new RegExp(`^tessera_audience_step_duration_seconds_count\\{phase="${phase}"\\} [1-9]`, 'm'));

      const profile = await json<{ segments: string[] }>(`/api/v1/profiles/${bob}`);
      assert.deepEqual(profile.body.segments, [id]);
      assert.equal((await json<{ size: number }>(`/api/v1/segments/${id}`)).body.size, 2);
      const history = await json<{ items: Array<{ size: number }> }>(`/api/v1/segments/${id}/history`);
      assert.equal(history.body.items.at(-1)?.size, 2);
      const csv = await h.admin(`/api/v1/segments/${id}/export.csv`);
      assert.equal(csv.status, 200);
      assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
      const lines = (await csv.text()).trim().split('\n');
      assert.equal(lines[0], 'profile_id,since');
      assert.deepEqual(
        lines
          .slice(1)
          .map((l) => l.split(',')[0])
          .sort(),
        [ann, bob].sort(),
      );
      const page = await json<{ items: unknown[]; nextAfter: string | null }>(`/api/v1/segments/${id}/members?limit=1`);
      assert.equal(page.body.items.length, 1);
      assert.equal(page.body.nextAfter, [ann, bob].sort()[0]);
    });

    it('answers a parse error with 400 validation_failed, naming line, column and what was expected', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      const res = await json<{ error: { code: string; message: string } }>('/api/v1/segments', {
        method: 'POST',
        body: JSON.stringify({ name: 'Broken', query: "event('Order Completed').count() >=" }),
      });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.match(res.body.error.message, /line 1, column 36: .*expected/);
      const unknown = await json<{ error: { code: string; message: string } }>('/api/v1/segments', {
        method: 'POST',
        body: JSON.stringify({ name: 'Dangling', query: "segment('nope')" }),
      });
      assert.equal(unknown.status, 400);
      assert.match(unknown.body.error.message, /unknown segment 'nope'/);
      assert.equal((await h.admin('/api/v1/segments/nope')).status, 404);
    });

    it('computed traits: created, backfilled, shown on the profile and usable in segments', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      const created = await json<{ id: string; key: string; status: string }>('/api/v1/computed-traits', {
        method: 'POST',
        body: JSON.stringify(ORDERS_IN_30_DAYS),
      });
      assert.equal(created.status, 201);
      assert.equal(created.body.key, 'orders_30d');
      await eventually('the computed trait', async () =>
        (await json<{ status: string }>(`/api/v1/computed-traits/${created.body.id}`)).body.status === 'live' ? true : undefined,
      );
      const ann = await profileOf('ann');
      const profile = await json<{ computedTraits: Record<string, unknown> }>(`/api/v1/profiles/${ann}`);
      assert.deepEqual(profile.body.computedTraits, { orders_30d: 2 });
      const preview = await json<{ count: number }>('/api/v1/segments/preview', {
        method: 'POST',
        body: JSON.stringify({ query: "trait('orders_30d') >= 2" }),
      });
      assert.equal(preview.body.count, 2, 'ann and bob');
      const del = await h.admin(`/api/v1/computed-traits/${created.body.id}`, { method: 'DELETE' });
      assert.equal(del.status, 204);
    });
  });
}
