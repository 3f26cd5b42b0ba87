/**
 * The profile body's read model (`src/storage/profile-bodies/`) on real data made by the whole pipeline:
 * a merge that leaves an account membership on the absorbed id, a live segment, a computed trait, stated
 * consent under a custom consent configuration, and subscriptions of the profile's own contact points
 * beside someone else's. On both backends the API's body shows all of it; on PostgreSQL the one-statement
 * reader answers exactly what asking each store in turn answers (the contract between the two readers).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CONSENT_CONFIG } from '../../src/core/consent/purposes.ts';
import { openPrivacyStore } from '../../src/storage/privacy/open-privacy-store.ts';
import { ComposedProfileBodies } from '../../src/storage/profile-bodies/composed-profile-bodies.ts';
import { openProfileBodies } from '../../src/storage/profile-bodies/open-profile-bodies.ts';
import { openSegmentStore } from '../../src/storage/segments/open-segment-store.ts';
import type { Harness } from '../support/harness.ts';
import { backends, startPerBackend } from '../support/backends.ts';
import { eventually } from '../support/eventually.ts';
import { ORDERS_IN_30_DAYS } from '../support/fixtures.ts';
import { adminJson, send } from '../privacy/helpers.ts';

interface Body {
  id: string;
  accounts: string[];
  mergedProfileIds: string[];
  segments: string[];
  computedTraits: Record<string, unknown>;
  consent: { purposes: Record<string, { allowed: boolean; reason: string }>; subscriptions: Record<string, string> };
}

const ok = async <T>(r: Promise<{ status: number; body: T }>, status = 200): Promise<T> => {
  const res = await r;
  assert.equal(res.status, status, JSON.stringify(res.body));
  return res.body;
};

for (const backend of backends) {
  describe(`profile bodies on ${backend.name}`, () => {
    let h: Harness | undefined;
    startPerBackend(backend, (started) => (h = started));

    it('show accounts through merges, live segments, computed traits, consent and own subscriptions', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      const now = new Date().toISOString();
      const phone = '+14155550171';
      await send(h, [
        { type: 'group', anonymousId: 'pb-anon', groupId: 'acme', timestamp: now },
        { type: 'identify', userId: 'pb-user', traits: { email: 'PB@Example.com', phone }, timestamp: now },
        { type: 'group', userId: 'pb-user', groupId: 'zeta', timestamp: now },
        { type: 'identify', userId: 'pb-other', traits: { email: 'other@example.com' }, timestamp: now },
      ]);
      // The anonymous profile (with its account) and the person's merge: one id is absorbed.
      await send(h, [
        { type: 'identify', userId: 'pb-user', anonymousId: 'pb-anon', timestamp: now },
        { type: 'track', userId: 'pb-user', event: 'Order Completed', timestamp: now },
      ]);

      const config = {
        ...DEFAULT_CONSENT_CONFIG,
        purposes: [...DEFAULT_CONSENT_CONFIG.purposes, { id: 'research', name: 'Research', defaultWhenUnknown: 'granted' }],
      };
      await ok(adminJson(h, '/api/v1/consent/config', { method: 'PUT', body: JSON.stringify({ operator: 'dpo', config }) }));
      const person = await ok(adminJson<Body>(h, '/api/v1/profiles/lookup?type=user_id&value=pb-user'));
      assert.equal(person.mergedProfileIds.length, 1, 'the anonymous profile was merged in');
      await ok(
        adminJson(h, `/api/v1/profiles/${person.id}/consent`, {
          method: 'PUT',
          body: JSON.stringify({ operator: 'dpo', changes: [{ purpose: 'email_marketing', choice: 'granted', textVersion: 'n-1' }] }),
        }),
      );
      for (const [channel, address, status] of [
        ['email', 'pb@example.com', 'subscribed'],
        ['sms', phone, 'subscribed'],
        ['email', 'other@example.com', 'unsubscribed'],
      ] as const)
        await ok(
          adminJson(h, '/api/v1/consent/subscriptions', {
            method: 'PUT',
            body: JSON.stringify({ operator: 'form', channel, address, status, proof: { method: 'form', textVersion: 't-1' } }),
          }),
        );
      const segment = await ok(
        adminJson<{ id: string }>(h, '/api/v1/segments', {
          method: 'POST',
          body: JSON.stringify({ name: 'Buyers', query: "event('Order Completed').within(30 days).count() >= 1" }),
        }),
        201,
      );
      await ok(adminJson(h, '/api/v1/computed-traits', { method: 'POST', body: JSON.stringify(ORDERS_IN_30_DAYS) }), 201);

      const body = await eventually('the segment and the computed trait on the body', async () => {
        const b = await ok(adminJson<Body>(h!, '/api/v1/profiles/lookup?type=email&value=pb@example.com'));
        return b.segments.length > 0 && 'orders_30d' in b.computedTraits ? b : undefined;
      });
      assert.equal(body.id, person.id);
      assert.deepEqual(body.accounts, ['acme', 'zeta'], "the absorbed profile's account stays the person's");
      assert.deepEqual(body.segments, [segment.id]);
      assert.deepEqual(body.computedTraits, { orders_30d: 1 });
      assert.deepEqual(body.consent.purposes.research, { allowed: true, reason: 'granted_by_default' }, 'the stored config is used');
      assert.equal(body.consent.purposes.email_marketing?.allowed, true);
      assert.equal(body.consent.purposes.advertising?.allowed, false);
      assert.deepEqual(body.consent.subscriptions, { 'email:pb@example.com': 'subscribed', [`sms:${phone}`]: 'subscribed' });

      // The same body by id, by the absorbed id, and in a search.
      assert.deepEqual(await ok(adminJson<Body>(h, `/api/v1/profiles/${person.id}`)), body);
      assert.deepEqual(await ok(adminJson<Body>(h, `/api/v1/profiles/${person.mergedProfileIds[0]}`)), body);
      const found = await ok(adminJson<{ items: Body[] }>(h, '/api/v1/profiles?identifierType=user_id&identifierPrefix=pb-'));
      assert.deepEqual(
        found.items.map((p) => p.id),
        [person.id, (await ok(adminJson<Body>(h, '/api/v1/profiles/lookup?type=user_id&value=pb-other'))).id].sort(),
      );
      assert.deepEqual(
        found.items.find((p) => p.id === person.id),
        body,
      );
      assert.deepEqual(found.items.find((p) => p.id !== person.id)?.consent.subscriptions, { 'email:other@example.com': 'unsubscribed' });

      // Rows the reads must leave out, written where no runner looks: a deleted segment and one not yet live.
      const store = h.tessera.store;
      const privacy = await openPrivacyStore(store);
      for (const [id, liveRule, deleted] of [
        ['pb-deleted', '{}', true],
        ['pb-not-live', null, false],
      ] as const) {
        await privacy.runner.run(
          `INSERT INTO segments (id, name, rule, live_rule, generation, status, progress, deleted, created_at, updated_at)
           VALUES ($1, $1, '{}', $2, 1, 'live', 1, $3, 0, 0)`,
          [id, liveRule, deleted ? 1 : 0], // '1'/'0' are booleans to PostgreSQL too
        );
        await privacy.runner.run('INSERT INTO segment_memberships (segment_id, profile_id, since) VALUES ($1, $2, 0)', [id, person.id]);
      }
      const reference = new ComposedProfileBodies(store, await openSegmentStore(store), privacy.data);
      const bodies = await openProfileBodies(store);
      const keys = ['email:pb@example.com', 'user_id:pb-other', 'user_id:pb-user', 'user_id:nobody'];
      const ids = [person.id, person.mergedProfileIds[0]!, 'no-such-profile'];
      const expected = await reference.holding(keys);
      assert.equal(expected.bodies.length, 2, 'two people, each once');
      assert.deepEqual(expected.bodies[expected.bodies[0]!.profile.snapshot.id === person.id ? 0 : 1]!.segments, [segment.id]);
      assert.deepEqual(await bodies.holding(keys), expected);
      assert.deepEqual(await bodies.byIds(ids), await reference.byIds(ids));
      assert.deepEqual((await bodies.byIds(ids)).bodies.length, 1, 'an absorbed id is its survivor');
      assert.deepEqual(await bodies.holding(['user_id:nobody']), { bodies: [], consentConfig: null });

      // A newer instance's migration adds a column while this one's connections hold the prepared reads.
      const before = await bodies.holding(['user_id:pb-user']);
      await privacy.runner.run('ALTER TABLE profiles ADD COLUMN pb_added TEXT');
      assert.deepEqual(await bodies.holding(['user_id:pb-user']), before);
      assert.deepEqual((await bodies.byIds([person.id])).bodies, before.bodies);
    });
  });
}
