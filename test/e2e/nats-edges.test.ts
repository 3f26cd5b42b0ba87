/**
 * Several machines, one pipeline: two Tessera instances share a PostgreSQL store and a NATS JetStream
 * log. One is an edge only (`TESSERA_PROCESSOR=off`); the other also runs the processor. Whatever either
 * accepts is stored once, resolved into the same profiles, and purged from the stream once processed;
 * operator commands travel through the same stream, in order. When both run a processor, each entry is
 * still stored once, and when one stops the other carries on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { basicAuth, startTessera, type Harness } from '../support/harness.ts';
import { natsTestStream } from '../support/nats.ts';
import { postgresTestUrl } from '../support/postgres.ts';

async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  // Generous: the full suite runs two files at once, and the durability tests beside this one load the machine.
  for (let i = 0; i < 2400; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A fresh NATS stream and PostgreSQL schema, and the environment that points an instance at both; why not, when one is missing. */
async function natsAndPostgres() {
  const nats = await natsTestStream();
  if (nats === null) return 'NATS is not reachable';
  const pg = await postgresTestUrl();
  if (pg === null) {
    await nats.drop();
    return 'PostgreSQL is not reachable';
  }
  return { nats, pg, env: { ...nats.env, TESSERA_DATABASE_URL: pg.url } };
}

describe('two instances on one NATS stream and one PostgreSQL store', () => {
  it('store what either edge accepts once, in the same profiles, and purge the stream behind the processor', async (t) => {
    const services = await natsAndPostgres();
    if (typeof services === 'string') return t.skip(services);
    const { nats, pg: db, env } = services;
    let edge: Harness | undefined;
    let worker: Harness | undefined;
    try {
      // The edge starts first: the store's source (its write key) is shared through PostgreSQL.
      edge = await startTessera({ ...env, TESSERA_PROCESSOR: 'off' });
      worker = await startTessera(env);
      assert.equal(worker.writeKey, edge.writeKey);
      const send = async (h: Harness, batch: object[]) => {
        const res = await fetch(`${h.url}/v1/batch`, {
          method: 'POST',
          headers: { authorization: basicAuth(h.writeKey), 'content-type': 'application/json' },
          body: JSON.stringify({ batch }),
        });
        assert.equal(res.status, 200, await res.text());
      };
      // One person browses anonymously through one edge and logs in through the other.
      const people = 20;
      for (let p = 0; p < people; p++) {
        await send(edge, [
          { type: 'page', anonymousId: `anon-${p}`, name: 'Pricing', messageId: `e-page-${p}` },
          { type: 'track', anonymousId: `anon-${p}`, event: 'Added To Cart', messageId: `e-cart-${p}` },
        ]);
        await send(worker, [
          {
            type: 'identify',
            anonymousId: `anon-${p}`,
            userId: `user-${p}`,
            traits: { email: `p${p}@example.com` },
            messageId: `w-id-${p}`,
          },
          { type: 'track', userId: `user-${p}`, event: 'Order Completed', messageId: `w-order-${p}` },
        ]);
      }
      // A retry of an accepted batch through the other edge is a duplicate, not a second copy.
      await send(worker, [{ type: 'page', anonymousId: 'anon-0', name: 'Pricing', messageId: 'e-page-0' }]);

      const w = worker;
      const total = await until('every event stored', async () => {
        const res = (await (await w.admin('/api/v1/events?limit=500')).json()) as { items: Array<{ messageId: string }> };
        return res.items.length === people * 4 ? res.items : undefined;
      });
      assert.equal(new Set(total.map((e) => e.messageId)).size, people * 4, 'each message once');

      for (const p of [0, 7, 19]) {
        const lookup = await w.admin(`/api/v1/profiles/lookup?type=anonymous_id&value=anon-${p}`);
        assert.equal(lookup.status, 200);
        const profile = (await lookup.json()) as { id: string; identities: Array<{ type: string; value: string }> };
        assert.ok(
          profile.identities.some((i) => i.type === 'user_id' && i.value === `user-${p}`),
          'the anonymous visit (edge) and the login (worker) are one profile',
        );
        const timeline = (await (await w.admin(`/api/v1/profiles/${profile.id}/events`)).json()) as { items: unknown[] };
        assert.equal(timeline.items.length, 4, 'its timeline holds the events of both edges');
      }

      // An operator merge goes through the stream and is applied in order by the processor.
      const a = (await (await w.admin('/api/v1/profiles/lookup?type=user_id&value=user-1')).json()) as { id: string };
      const b = (await (await w.admin('/api/v1/profiles/lookup?type=user_id&value=user-2')).json()) as { id: string };
      const merged = await w.admin('/api/v1/profiles/merge', {
        method: 'POST',
        body: JSON.stringify({ profileIds: [a.id, b.id], reason: 'same household account' }),
      });
      assert.equal(merged.status, 200, await merged.clone().text());
      const survivor = ((await merged.json()) as { profileId: string }).profileId;
      const after = (await (await edge.admin('/api/v1/profiles/lookup?type=user_id&value=user-2')).json()) as { id: string };
      assert.equal(after.id, survivor, 'the edge reads the merged profile from the shared store');

      // What is processed durably leaves the stream.
      await until('the stream purged', async () => ((await nats.state()).messages === 0 ? true : undefined));
      assert.ok((await nats.state()).lastSeq >= people * 2 + 2, 'every request and the command went through the stream');
    } finally {
      await edge?.close();
      await worker?.close();
      await nats.drop();
      await db.drop();
    }
  });

  it('with a processor on both, store each entry once, and carry on when one of them stops', async (t) => {
    const services = await natsAndPostgres();
    if (typeof services === 'string') return t.skip(services);
    const { nats, pg: db, env } = services;
    const client = new pg.Client({ connectionString: db.url });
    let first: Harness | undefined;
    let second: Harness | undefined;
    try {
      first = await startTessera(env);
      second = await startTessera(env);
      await client.connect();
      const send = async (h: Harness, b: number) => {
        const batch = Array.from({ length: 20 }, (_, i) => ({
          type: i % 5 === 0 ? 'identify' : 'track',
          event: 'Viewed',
          anonymousId: `anon-${(b * 7 + i) % 40}`,
          ...(i % 5 === 0 ? { userId: `user-${(b + i) % 10}` } : {}),
          messageId: `both-${b}-${i}`,
        }));
        // One invalid message per request: failed events have no de-duplication to hide a batch stored twice.
        batch.push({ type: 'bogus', event: 'Viewed', anonymousId: 'anon-0', messageId: `bad-${b}` } as (typeof batch)[number]);
        const res = await fetch(`${h.url}/v1/batch`, {
          method: 'POST',
          headers: { authorization: basicAuth(h.writeKey), 'content-type': 'application/json' },
          body: JSON.stringify({ batch }),
        });
        assert.equal(res.status, 200);
      };
      const stored = async () => {
        const events = await client.query<{ n: number; distinct: number }>(
          'SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS distinct FROM events',
        );
        const failed = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM failed_events');
        return { ...events.rows[0]!, failed: failed.rows[0]!.n };
      };
      for (let b = 0; b < 40; b++) await send(b % 2 === 0 ? first : second, b);
      await until('every entry stored', async () => ((await stored()).distinct === 800 ? true : undefined));
      assert.deepEqual(
        await stored(),
        { n: 800, distinct: 800, failed: 40 },
        'each entry stored once, though two processors read the stream',
      );

      // One instance stops; what arrives afterwards, through the other, is processed by the other.
      await first.close();
      first = undefined;
      for (let b = 40; b < 50; b++) await send(second, b);
      await until('the rest stored', async () => ((await stored()).distinct === 1000 ? true : undefined));
      assert.deepEqual(await stored(), { n: 1000, distinct: 1000, failed: 50 });
      const split = await client.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM (SELECT key FROM identities GROUP BY key HAVING count(DISTINCT profile_id) > 1) x',
      );
      assert.equal(split.rows[0]!.n, 0, 'no identifier in two profiles');
    } finally {
      await client.end().catch(() => undefined);
      await first?.close();
      await second?.close();
      await nats.drop();
      await db.drop();
    }
  });
});
