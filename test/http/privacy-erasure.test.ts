/**
 * Access and erasure end to end, on SQLite and PostgreSQL: the export holds every kind of data about
 * the subject and nothing about anyone else; suppress_with_delete forgets the subject everywhere, then
 * drops (and counts) everything resent under any identifier they had, while the edge answers 200.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTessera, type Harness } from '../support/harness.ts';
import { startPerBackend } from '../support/backends.ts';
import { adminJson, backends, metric, profileIdOf, runRequest, send } from '../privacy/helpers.ts';

const ANN = {
  userId: 'ann-user-7781',
  anonymousId: 'ann-anon-5521',
  email: 'ann.erasure@example.com',
  phone: '+14155550123',
  deviceId: 'ann-device-9911',
};
const BOB = { userId: 'bob-user-4402', anonymousId: 'bob-anon-3307', email: 'bob.keeps@example.org' };

/** The parts of an export this test reads. */
interface ExportDoc {
  profile: {
    traits: Record<string, unknown>;
    traitSources: Record<string, unknown>;
    identities: Array<{ type: string; value: string; source: { messageId: string } }>;
  };
  events: unknown[];
  consent: { purposes: Record<string, { status: string }>; history: Array<{ proof: { textVersion?: string } }> };
  subscriptions: Array<{ status: string }>;
  mergeHistory: unknown[];
  failedEvents: unknown[];
  identityWarnings: Array<{ code: string }>;
  identityFacts: unknown[];
  segmentMemberships: Record<string, unknown[]>;
  accountMemberships: unknown[];
  privacyRequests: Array<{ id: string }>;
}

/** Every identifier Ann ever had, one message each, as an SDK would resend them. */
const annResend = () => [
  { type: 'track', userId: ANN.userId, event: 'Resent By User Id' },
  { type: 'page', anonymousId: ANN.anonymousId, name: 'Resent By Anonymous Id' },
  { type: 'identify', anonymousId: 'fresh-anon-1', traits: { email: ANN.email.toUpperCase() } },
  { type: 'identify', anonymousId: 'fresh-anon-2', traits: { phone: ANN.phone } },
  { type: 'track', anonymousId: 'fresh-anon-3', event: 'Resent By Device', context: { device: { id: ANN.deviceId } } },
];

for (const backend of backends) {
  describe(`privacy requests on ${backend.name}`, () => {
    let h: Harness | undefined;
    startPerBackend(backend, (started) => (h = started));

    before(async () => {
      if (!h) return;
      // Ann: anonymous browsing with consent, then login with e-mail and phone (a merge), a device, an
      // invalid e-mail (an identity warning) and a message that fails validation but names her.
      await send(h, [
        {
          type: 'page',
          anonymousId: ANN.anonymousId,
          name: 'Pricing',
          context: { consent: { categoryPreferences: { Advertising: true }, version: 'banner-3' }, ip: '203.0.113.9' },
        },
      ]);
      await send(h, [{ type: 'identify', userId: ANN.userId, traits: { email: ANN.email, plan: 'pro' } }]);
      await send(h, [
        { type: 'identify', userId: ANN.userId, anonymousId: ANN.anonymousId, traits: { phone: ANN.phone, firstName: 'Ann' } },
        {
          type: 'track',
          userId: ANN.userId,
          event: 'Order Completed',
          properties: { total: 42 },
          context: { device: { id: ANN.deviceId } },
        },
        { type: 'identify', userId: ANN.userId, traits: { email: 'not an address' } },
        { type: 'bogus', userId: ANN.userId, traits: { email: ANN.email } },
        { type: 'identify', userId: BOB.userId, anonymousId: BOB.anonymousId, traits: { email: BOB.email, plan: 'free' } },
        { type: 'track', userId: BOB.userId, event: 'Order Completed', properties: { total: 7 } },
        { type: 'bogus', userId: BOB.userId, traits: { email: BOB.email } },
      ]);
      const ann = await profileIdOf(h, 'email', ANN.email);
      assert.ok(ann);
      const sub = await adminJson(h, '/api/v1/consent/subscriptions', {
        method: 'PUT',
        body: JSON.stringify({ operator: 'test', channel: 'email', address: ANN.email, status: 'subscribed', proof: { method: 'form' } }),
      });
      assert.equal(sub.status, 200, JSON.stringify(sub.body));
    });
    it('exports everything about the subject, and nothing about anyone else', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      const req = await runRequest(h, 'export', { type: 'email', value: ' Ann.Erasure@EXAMPLE.com ' });
      const id = String(req.id);
      const res = await h.admin(`/api/v1/privacy/requests/${id}/export`);
      assert.equal(res.status, 200);
      const text = await res.text();
      const doc = JSON.parse(text) as ExportDoc;
      // Every kind of data.
      assert.equal(doc.profile.traits.plan, 'pro');
      assert.ok(doc.profile.traitSources.plan, 'traits come with their sources');
      assert.deepEqual(
        doc.profile.identities.map((i) => `${i.type}:${i.value}`).sort(),
        [
          `anonymous_id:${ANN.anonymousId}`,
          `device_id:${ANN.deviceId}`,
          `email:${ANN.email}`,
          `phone:${ANN.phone}`,
          `user_id:${ANN.userId}`,
        ].sort(),
      );
      assert.ok(
        doc.profile.identities.every((i) => i.source.messageId),
        'identities come with provenance',
      );
      assert.equal(doc.events.length, 5, 'her page, identifies and order (the invalid one included)');
      assert.equal(doc.consent.purposes.advertising?.status, 'granted');
      assert.equal(doc.consent.history[0]?.proof.textVersion, 'banner-3');
      assert.equal(doc.subscriptions[0]?.status, 'subscribed');
      assert.ok(doc.mergeHistory.length >= 1, 'the login merged her anonymous profile');
      assert.equal(doc.failedEvents.length, 1, 'the message that failed validation names her');
      assert.ok(doc.identityWarnings.some((w) => w.code === 'invalid_email'));
      assert.ok(doc.identityFacts.length >= 3);
      assert.ok('segmentMemberships' in doc && 'accountMemberships' in doc);
      assert.ok(doc.privacyRequests.some((r) => r.id === id));
      // Nothing about Bob.
      for (const secret of [BOB.email, BOB.userId, BOB.anonymousId, await profileIdOf(h, 'email', BOB.email)]) {
        assert.ok(!text.includes(String(secret)), `the export must not mention ${secret}`);
      }
    });

    it('an unfinished or unknown request has no export', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      assert.equal((await adminJson(h, '/api/v1/privacy/requests/nope/export')).status, 404);
      const bad = await adminJson(h, '/api/v1/privacy/requests', {
        method: 'POST',
        body: JSON.stringify({ type: 'export', subject: { type: 'email', value: 'x' } }),
      });
      assert.equal(bad.status, 400);
    });

    it('suppress_with_delete forgets the subject everywhere and drops everything resent under any of her identifiers', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      const eventsBefore = await h.tessera.store.countEvents();
      const bobId = await profileIdOf(h, 'email', BOB.email);
      const done = await runRequest(h, 'suppress_with_delete', { type: 'user_id', value: ANN.userId });
      const summary = done.summary as Record<string, number>;
      assert.equal(summary.events, 5);
      assert.equal(summary.profiles, 1);
      assert.ok(summary.identityFacts! >= 3 && summary.failedEvents === 1 && summary.consents === 1 && summary.subscriptions === 1);
      assert.equal(await h.tessera.store.countEvents(), eventsBefore - 5);
      for (const [type, value] of [
        ['email', ANN.email],
        ['user_id', ANN.userId],
        ['anonymous_id', ANN.anonymousId],
        ['phone', ANN.phone],
      ])
        assert.equal(await profileIdOf(h, type!, value!), null, `no profile holds her ${type}`);
      const request = await adminJson<{ subject: { value: string } }>(h, `/api/v1/privacy/requests/${String(done.id)}`);
      assert.ok(!request.body.subject.value.includes(ANN.userId), 'the request keeps a hash, not her identifier');

      const droppedBefore = await metric(h, 'tessera_privacy_gate_dropped_events_total', 'reason="suppressed"');
      const stored = await h.tessera.store.countEvents();
      await send(h, annResend());
      assert.equal(await h.tessera.store.countEvents(), stored, 'nothing of hers is stored again');
      assert.equal(await metric(h, 'tessera_privacy_gate_dropped_events_total', 'reason="suppressed"'), droppedBefore + annResend().length);
      assert.equal(await profileIdOf(h, 'email', ANN.email), null);
      assert.equal(await profileIdOf(h, 'email', BOB.email), bobId, 'Bob is untouched');
      const audit = await adminJson<{ items: Array<{ action: string; detail: Record<string, unknown> }> }>(
        h,
        '/api/v1/audit?action=privacy',
      );
      assert.ok(audit.body.items.some((e) => e.action === 'privacy.request.finished'));
      assert.ok(!JSON.stringify(audit.body).includes(ANN.email) && !JSON.stringify(audit.body).includes(ANN.userId));

      // Unsuppress: her data is accepted again.
      await runRequest(h, 'unsuppress', { type: 'email', value: ANN.email });
      await send(h, [{ type: 'identify', userId: ANN.userId, traits: { email: ANN.email } }]);
      assert.ok(await profileIdOf(h, 'email', ANN.email));
    });
  });
}

describe('erasure reaches the raw SQLite files', () => {
  let h: Harness;
  before(async () => {
    h = await startTessera();
  });
  after(async () => {
    await h.close();
  });

  /** Every file in the data directory (store, its WAL, the durable log, its WAL, …) that holds `text`. */
  const filesHolding = (texts: string[]): string[] =>
    fs
      .readdirSync(h.dataDir)
      .filter((f) => fs.statSync(path.join(h.dataDir, f)).isFile())
      .filter((f) => {
        const bytes = fs.readFileSync(path.join(h.dataDir, f));
        return texts.some((t) => bytes.includes(Buffer.from(t, 'utf8')));
      });

  it("leaves no copy of the subject's e-mail in the database files, the WAL or the durable log", async () => {
    const email = 'raw.bytes.ann@example.net';
    await send(h, [
      {
        type: 'identify',
        userId: 'raw-ann',
        anonymousId: 'raw-anon',
        traits: { email, phone: '+14155550199' },
        context: { consent: { categoryPreferences: { Analytics: true } } },
      },
      { type: 'track', userId: 'raw-ann', event: 'Viewed', properties: { contact: email } },
      { type: 'bogus', userId: 'raw-ann', traits: { email } },
      { type: 'identify', userId: 'raw-bob', traits: { email: 'raw.bob@example.net' } },
    ]);
    await runRequest(h, 'export', { type: 'email', value: email });
    assert.ok(filesHolding([email]).length > 0, 'the test must see the e-mail in the files before the erasure');
    await runRequest(h, 'suppress_with_delete', { type: 'email', value: email });
    // Resent after the erasure: passes through the durable log, dropped by the gate, scrubbed from the log.
    await send(h, [{ type: 'identify', userId: 'raw-ann', traits: { email: email.toUpperCase() } }]);
    let holding = filesHolding([email, email.toUpperCase()]);
    for (let i = 0; i < 500 && holding.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      holding = filesHolding([email, email.toUpperCase()]);
    }
    assert.deepEqual(holding, [], `the e-mail is still in ${holding.join(', ')}`);
    assert.ok(filesHolding(['raw.bob@example.net']).length > 0, 'the other person is still there');
  });
});
