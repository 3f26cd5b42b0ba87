/**
 * Collection policies at the processor's gate, on SQLite and PostgreSQL: each mode with events that
 * have and lack the required consent (carried on the event, or stored on the profile); every decision
 * counted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTessera, type Harness } from '../support/harness.ts';
import { adminJson, backends, metric, send } from '../privacy/helpers.ts';

const granted = { consent: { categoryPreferences: { Advertising: true } } };
const refused = { consent: { categoryPreferences: { Advertising: false } } };

for (const backend of backends) {
  describe(`collection policies on ${backend.name}`, () => {
    let h: Harness | undefined;
    let drop = async () => {};
    let n = 0;
    const setPolicy = (policy: unknown) =>
      adminJson(h!, `/api/v1/sources/${h!.sourceId}/collection-policy`, { method: 'PUT', body: JSON.stringify(policy) });
    /** Send one event named uniquely and return what was stored of it (or null). */
    const roundTrip = async (message: Record<string, unknown>) => {
      const event = `Policy Probe ${++n}`;
      await send(h!, [{ type: 'track', event, ...message }]);
      const rows = await h!.tessera.store.listEvents({ name: event, limit: 5 });
      return rows[0] ?? null;
    };

    before(async () => {
      const b = await backend.env();
      if (b === null) return;
      drop = b.drop;
      h = await startTessera(b.env);
    });
    after(async () => {
      await h?.close();
      await drop();
    });

    it('validates policies: unknown purposes, bad paths and unknown sources are refused', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      assert.equal((await setPolicy({ mode: 'drop', requiredPurpose: 'telepathy' })).status, 400);
      assert.equal((await setPolicy({ mode: 'explode' })).status, 400);
      assert.equal((await setPolicy({ mode: 'store', fieldRules: [{ path: 'properties.__proto__', action: 'remove' }] })).status, 400);
      const other = await adminJson(h, '/api/v1/sources/src_nope/collection-policy', {
        method: 'PUT',
        body: JSON.stringify({ mode: 'drop' }),
      });
      assert.equal(other.status, 404);
      const current = await adminJson<{ policy: { mode: string }; isDefault: boolean }>(
        h,
        `/api/v1/sources/${h.sourceId}/collection-policy`,
      );
      assert.deepEqual(current.body.policy, { mode: 'store' });
    });

    it('drop: events lacking the purpose are dropped and counted; events with it are stored', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      assert.equal((await setPolicy({ mode: 'drop', requiredPurpose: 'advertising' })).status, 200);
      const droppedBefore = await metric(h, 'tessera_privacy_gate_dropped_events_total', 'reason="policy_drop"');
      assert.equal(await roundTrip({ userId: 'p-1' }), null, 'advertising is refused by default');
      assert.equal(await roundTrip({ userId: 'p-1', context: refused }), null);
      assert.ok(await roundTrip({ userId: 'p-1', context: granted }));
      assert.equal(await metric(h, 'tessera_privacy_gate_dropped_events_total', 'reason="policy_drop"'), droppedBefore + 2);
      assert.ok((await metric(h, 'tessera_privacy_gate_decisions_total', 'decision="purpose:advertising:denied_by_default"')) >= 1);
      // The grant carried by the stored event is now the person's stored consent: a later event without
      // preferences is stored under it.
      const p1 = await adminJson<{ id: string }>(h, '/api/v1/profiles/lookup?type=user_id&value=p-1');
      const stored = await adminJson<{ purposes: Record<string, { status: string }> }>(h, `/api/v1/profiles/${p1.body.id}/consent`);
      assert.equal(stored.body.purposes.advertising?.status, 'granted');
      assert.ok(await roundTrip({ userId: 'p-1' }));
    });

    it('restrict: events lacking the purpose are stored but marked restricted', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      assert.equal((await setPolicy({ mode: 'restrict', requiredPurpose: 'advertising' })).status, 200);
      const lacking = await roundTrip({ userId: 'p-2' });
      assert.equal(lacking?.restricted, true);
      const having = await roundTrip({ userId: 'p-2b', context: granted });
      assert.equal(having?.restricted, false);
    });

    it('anonymise: events lacking the purpose lose identity and personal data; events with it keep them', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      assert.equal((await setPolicy({ mode: 'anonymise', requiredPurpose: 'advertising' })).status, 200);
      const lacking = await roundTrip({ userId: 'p-3', properties: { email: 'p3@example.com', total: 5 }, context: { ip: '192.0.2.1' } });
      assert.ok(lacking);
      assert.equal(lacking.userId, null);
      assert.equal(lacking.ident, null);
      assert.deepEqual(lacking.message.properties, { total: 5 });
      assert.ok(!JSON.stringify(lacking.message).includes('192.0.2.1'));
      const having = await roundTrip({ userId: 'p-3b', properties: { email: 'p3b@example.com' }, context: granted });
      assert.equal(having?.userId, 'p-3b');
      assert.equal((having?.message.properties as Record<string, unknown>).email, 'p3b@example.com');
    });

    it('field rules: a field is hashed without the purpose and kept with it', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      assert.equal(
        (
          await setPolicy({
            mode: 'store',
            fieldRules: [
              { path: 'properties.email', action: 'hash', unlessPurpose: 'advertising' },
              { path: 'context.ip', action: 'remove' },
            ],
          })
        ).status,
        200,
      );
      const lacking = await roundTrip({ userId: 'p-4', properties: { email: 'p4@example.com' }, context: { ip: '192.0.2.4' } });
      const hashed = (lacking?.message.properties as Record<string, unknown>).email as string;
      assert.match(hashed, /^[0-9a-f]{64}$/);
      assert.ok(!('ip' in (lacking?.message.context as Record<string, unknown>)));
      const having = await roundTrip({
        userId: 'p-4b',
        properties: { email: 'p4b@example.com' },
        context: { ...granted, ip: '192.0.2.5' },
      });
      assert.equal((having?.message.properties as Record<string, unknown>).email, 'p4b@example.com');
      assert.ok((await metric(h, 'tessera_privacy_gate_decisions_total', 'decision="hash:properties.email"')) >= 1);
    });

    it('a policy change is audited, and removing it stores everything again', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      const audit = await adminJson<{ items: Array<{ action: string; target: string }> }>(h, '/api/v1/audit?action=policy');
      assert.ok(audit.body.items.filter((e) => e.target === h!.sourceId).length >= 4);
      assert.equal((await setPolicy({ mode: 'drop' })).status, 200);
      assert.equal(await roundTrip({ userId: 'p-5', context: granted }), null, 'drop without a purpose drops everything');
      assert.equal((await h.admin(`/api/v1/sources/${h.sourceId}/collection-policy`, { method: 'DELETE' })).status, 204);
      assert.ok(await roundTrip({ userId: 'p-5' }));
    });

    it('retention deletes events older than their rule and keeps the rest', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      await send(h, [
        { type: 'track', userId: 'r-1', event: 'Old Click', timestamp: '2020-01-01T00:00:00Z' },
        { type: 'track', userId: 'r-1', event: 'Old Purchase', timestamp: '2020-01-01T00:00:00Z' },
      ]);
      const put = await adminJson(h, '/api/v1/privacy/retention', {
        method: 'PUT',
        body: JSON.stringify({ rules: [{ sourceId: h.sourceId, eventName: 'Old Click', days: 30 }] }),
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const run = await adminJson<{ deleted: number }>(h, '/api/v1/privacy/retention/run', { method: 'POST' });
      assert.equal(run.body.deleted, 1);
      assert.equal((await h.tessera.store.listEvents({ name: 'Old Click', limit: 5 })).length, 0);
      assert.equal((await h.tessera.store.listEvents({ name: 'Old Purchase', limit: 5 })).length, 1);
      const bad = await adminJson(h, '/api/v1/privacy/retention', {
        method: 'PUT',
        body: JSON.stringify({ rules: [{ sourceId: 'src_nope', days: 3 }] }),
      });
      assert.equal(bad.status, 400);
    });
  });
}
