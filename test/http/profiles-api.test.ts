/**
 * Profiles end to end: events in through the Segment-compatible edge, the processor resolving identity,
 * profiles out through the admin API — on SQLite and on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { basicAuth, type Harness } from '../support/harness.ts';
import { backends, startPerBackend } from '../support/backends.ts';

interface Profile {
  id: string;
  traits: Record<string, unknown>;
  traitSources: Record<string, { at: string; sourceId: string; messageId: string }>;
  identities: Array<{ type: string; value: string; source: { messageId: string } }>;
  accounts: string[];
  mergedProfileIds: string[];
  createdAt: string;
  updatedAt: string;
}

for (const backend of backends) {
  describe(`profiles API on ${backend.name}`, () => {
    let h: Harness | undefined;
    let n = 0;
    const send = async (batch: Array<Record<string, unknown>>) => {
      const res = await fetch(`${h!.url}/v1/batch`, {
        method: 'POST',
        headers: { authorization: basicAuth(h!.writeKey), 'content-type': 'application/json' },
        body: JSON.stringify({ batch: batch.map((m) => ({ messageId: `m${++n}`, timestamp: '2026-11-01T10:00:00Z', ...m })) }),
      });
      assert.equal(res.status, 200);
      await h!.drained();
    };
    const lookup = async (type: string, value: string) => {
      const res = await h!.admin(`/api/v1/profiles/lookup?type=${type}&value=${encodeURIComponent(value)}`);
      return { status: res.status, body: (await res.json()) as Profile };
    };
    const timeline = async (id: string) =>
      ((await (await h!.admin(`/api/v1/profiles/${id}/events?limit=100`)).json()) as { items: Array<{ messageId: string }> }).items.map(
        (e) => e.messageId,
      );

    startPerBackend(backend, (started) => (h = started));

    it('anonymous browsing then login: one profile holding both ids, with the anonymous events in its timeline', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      await send([
        { type: 'page', anonymousId: 'anon-1', name: 'Pricing' },
        { type: 'track', anonymousId: 'anon-1', event: 'Product Viewed' },
      ]);
      const before = await lookup('anonymous_id', 'anon-1');
      assert.equal(before.status, 200);
      await send([{ type: 'identify', anonymousId: 'anon-1', userId: 'u-1', traits: { email: ' Ann@Example.COM ', plan: 'pro' } }]);
      const byEmail = await lookup('email', 'ann@example.com');
      assert.equal(byEmail.status, 200);
      const profile = byEmail.body;
      assert.equal(profile.id, before.body.id, 'the anonymous profile became the person (oldest profile survives)');
      assert.deepEqual(profile.identities.map((i) => `${i.type}:${i.value}`).sort(), [
        'anonymous_id:anon-1',
        'email:ann@example.com',
        'user_id:u-1',
      ]);
      assert.equal(profile.traits.plan, 'pro');
      assert.equal(profile.traitSources.plan?.messageId, 'm3');
      assert.deepEqual((await timeline(profile.id)).sort(), ['m1', 'm2', 'm3']);
    });

    it('a user_id limit of 1: a new user_id with a known e-mail gets a new profile, with a visible warning', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      await send([{ type: 'identify', userId: 'u-2', traits: { email: 'ann@example.com' } }]);
      const ann = await lookup('user_id', 'u-1');
      const other = await lookup('user_id', 'u-2');
      assert.equal(other.status, 200);
      assert.notEqual(other.body.id, ann.body.id);
      assert.ok(!other.body.identities.some((i) => i.type === 'email'), 'the e-mail stays with its first owner');
      const warnings = (await (await h.admin(`/api/v1/identity/warnings?profileId=${other.body.id}`)).json()) as {
        items: Array<{ code: string; identifier: string }>;
      };
      assert.ok(warnings.items.some((w) => w.code === 'limit_exceeded' && w.identifier === 'email:ann@example.com'));
    });

    it('a junk anonymousId sent for many users fuses nobody', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      await send(
        Array.from({ length: 20 }, (_, i) => ({ type: 'track', userId: `junk-user-${i}`, anonymousId: 'undefined', event: 'Clicked' })),
      );
      const a = await lookup('user_id', 'junk-user-0');
      const b = await lookup('user_id', 'junk-user-19');
      assert.notEqual(a.body.id, b.body.id);
      assert.equal((await lookup('anonymous_id', 'undefined')).status, 404);
    });

    it('merge then unmerge restores both profiles, their traits and their timelines', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      await send([
        { type: 'identify', userId: 'kim', traits: { city: 'Oslo' } },
        { type: 'track', userId: 'kim', event: 'Order Completed' },
        { type: 'identify', userId: 'lee', traits: { city: 'Bergen', vip: true } },
      ]);
      const kim = (await lookup('user_id', 'kim')).body;
      const lee = (await lookup('user_id', 'lee')).body;
      const kimEvents = await timeline(kim.id);

      const setRules = async (rules: unknown) =>
        assert.equal((await h!.admin('/api/v1/identity/rules', { method: 'PUT', body: JSON.stringify({ rules }) })).status, 200);
      // An operator merge waives per-type limits (the operator decided) but never the global caps.
      await setRules({ maxIdentifiers: 1 });
      const refused = await h.admin('/api/v1/profiles/merge', {
        method: 'POST',
        body: JSON.stringify({ profileIds: [kim.id, lee.id], reason: 'same person' }),
      });
      assert.equal(refused.status, 409);
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'identity_conflict');
      await setRules({});

      const merged = await h.admin('/api/v1/profiles/merge', {
        method: 'POST',
        body: JSON.stringify({ profileIds: [kim.id, lee.id], reason: 'same person' }),
      });
      assert.equal(merged.status, 200);
      const survivor = ((await merged.json()) as { profileId: string }).profileId;
      const gone = survivor === kim.id ? lee.id : kim.id;
      const redirect = await h.admin(`/api/v1/profiles/${gone}`, { redirect: 'manual' });
      assert.equal(redirect.status, 308);
      assert.equal(redirect.headers.get('location'), `/api/v1/profiles/${survivor}`);
      const both = (await lookup('user_id', 'lee')).body;
      assert.equal(both.id, survivor);
      assert.equal(both.traits.vip, true);
      assert.ok(['Oslo', 'Bergen'].includes(both.traits.city as string));
      const history = (await (await h.admin(`/api/v1/profiles/${survivor}/merges`)).json()) as {
        items: Array<{ kind: string; reason: string }>;
      };
      assert.ok(history.items.some((m) => m.kind === 'operator_merge' && m.reason === 'same person'));

      const unmerged = await h.admin(`/api/v1/profiles/${survivor}/unmerge`, {
        method: 'POST',
        body: JSON.stringify({ identifier: { type: 'user_id', value: 'lee' }, reason: 'wrong merge' }),
      });
      assert.equal(unmerged.status, 200);
      const kimAfter = (await lookup('user_id', 'kim')).body;
      const leeAfter = (await lookup('user_id', 'lee')).body;
      assert.notEqual(kimAfter.id, leeAfter.id);
      assert.deepEqual(kimAfter.traits, { city: 'Oslo' });
      assert.deepEqual(leeAfter.traits, { city: 'Bergen', vip: true });
      assert.deepEqual((await timeline(kimAfter.id)).sort(), kimEvents.sort());
      const log = (await (await h.admin(`/api/v1/profiles/${kimAfter.id}/merges`)).json()) as { items: Array<{ kind: string }> };
      assert.deepEqual(
        log.items.map((m) => m.kind),
        ['unmerge', 'operator_merge'],
      );
    });

    it('accounts get their own traits and members; the trait catalogue is discovered; search pages by cursor', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      await send([
        { type: 'group', userId: 'kim', groupId: 'acme', traits: { name: 'Acme Inc', employees: 50 } },
        { type: 'group', userId: 'lee', groupId: 'acme', traits: { employees: 55 } },
      ]);
      const account = (await (await h.admin('/api/v1/accounts/acme')).json()) as { traits: Record<string, unknown> };
      assert.deepEqual(account.traits, { name: 'Acme Inc', employees: 55 });
      const members = (await (await h.admin('/api/v1/accounts/acme/members')).json()) as { items: Array<{ profileId: string }> };
      assert.equal(members.items.length, 2);
      assert.deepEqual((await lookup('user_id', 'kim')).body.accounts, ['acme']);

      const catalogue = (await (await h.admin('/api/v1/traits')).json()) as {
        items: Array<{ name: string; category: string; pii: boolean }>;
      };
      const email = catalogue.items.find((c) => c.name === 'email');
      assert.equal(email?.category, 'identity');
      assert.equal(email?.pii, true);
      const patched = await h.admin('/api/v1/traits/city', { method: 'PATCH', body: JSON.stringify({ pii: true }) });
      assert.equal(((await patched.json()) as { pii: boolean }).pii, true);

      const page1 = (await (await h.admin('/api/v1/profiles?identifierType=user_id&identifierPrefix=junk-user-&limit=15')).json()) as {
        items: Profile[];
        nextAfter: string;
      };
      assert.equal(page1.items.length, 15);
      const page2 = (await (
        await h.admin(`/api/v1/profiles?identifierType=user_id&identifierPrefix=junk-user-&limit=15&after=${page1.nextAfter}`)
      ).json()) as {
        items: Profile[];
        nextAfter: string | null;
      };
      assert.equal(page2.items.length, 5);
      assert.equal(page2.nextAfter, null);
      const byTrait = (await (await h.admin('/api/v1/profiles?trait=vip&value=true')).json()) as { items: Profile[] };
      assert.deepEqual(
        byTrait.items.map((p) => p.traits.city),
        ['Bergen'],
      );
    });

    it('answers 404 for unknown profiles and 401 without the admin token', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      assert.equal((await lookup('email', 'nobody@example.com')).status, 404);
      assert.equal((await h.admin('/api/v1/profiles/no-such-id')).status, 404);
      assert.equal((await fetch(`${h.url}/api/v1/profiles/lookup?type=user_id&value=kim`)).status, 401);
    });
  });
}
