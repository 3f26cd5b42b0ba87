/**
 * Consent end to end, on SQLite and PostgreSQL: every input path (event preferences, the consent event,
 * the API, imports) lands on the profile with its proof; merges follow the documented rule; STOP by SMS
 * flips the phone's subscription; an SMS opt-in without proof is refused; the unsubscribe link works.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTessera, type Harness } from '../support/harness.ts';
import { adminJson, backends, profileIdOf, send } from '../privacy/helpers.ts';

const SMS_SECRET = 'sms-webhook-secret-0123456789';
type Consent = {
  profileId: string;
  purposes: Record<string, { status: string; proof: Record<string, unknown> }>;
  history: Array<{ purpose: string; choice: string; proof: Record<string, unknown> }>;
  subscriptions: Array<{ contactPoint: { address: string }; status: string }>;
  decisions: Record<string, { allowed: boolean; reason: string }>;
};

for (const backend of backends) {
  describe(`consent on ${backend.name}`, () => {
    let h: Harness | undefined;
    let drop = async () => {};
    const consentOf = async (id: string) => (await adminJson<Consent>(h!, `/api/v1/profiles/${id}/consent`)).body;
    const prefs = (p: Record<string, boolean>) => ({ consent: { categoryPreferences: p } });
    /** One person's two devices before anything links them: the phone allows advertising on 5 Oct; signed in on the laptop, she refused it on 1 Oct. */
    const twoDevices = (anonymousId: string, userId: string) => [
      { type: 'page', anonymousId, name: 'A', timestamp: '2026-10-05T10:00:00Z', context: prefs({ Advertising: true }) },
      { type: 'page', userId, name: 'B', timestamp: '2026-10-01T10:00:00Z', context: prefs({ Advertising: false, Functional: true }) },
    ];
    const statuses = (c: Consent) => Object.fromEntries(Object.entries(c.purposes).map(([k, v]) => [k, v?.status]));
    const sms = (from: string, body: string, secret = SMS_SECRET) =>
      fetch(`${h!.url}/v1/consent/sms/inbound`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`twilio:${secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ From: from, Body: body, MessageSid: 'SM123' }).toString(),
      });

    before(async () => {
      const b = await backend.env();
      if (b === null) return;
      drop = b.drop;
      h = await startTessera({ ...b.env, TESSERA_SMS_WEBHOOK_SECRET: SMS_SECRET });
    });
    after(async () => {
      await h?.close();
      await drop();
    });

    it('preferences on any event and the consent event land on the profile with their proof', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      await send(h, [
        {
          type: 'page',
          userId: 'c-ann',
          name: 'Home',
          timestamp: '2026-10-01T10:00:00Z',
          context: {
            ip: '198.51.100.7',
            userAgent: 'Firefox',
            consent: { categoryPreferences: { Advertising: true, Analytics: true }, version: 'v7' },
          },
        },
      ]);
      const id = (await profileIdOf(h, 'user_id', 'c-ann'))!;
      let c = await consentOf(id);
      assert.equal(c.purposes.advertising?.status, 'granted');
      assert.deepEqual(
        { ...c.purposes.advertising!.proof, sourceId: undefined, eventMessageId: undefined },
        {
          source: 'event',
          at: Date.parse('2026-10-01T10:00:00Z'),
          ip: '198.51.100.7',
          userAgent: 'Firefox',
          textVersion: 'v7',
          sourceId: undefined,
          eventMessageId: undefined,
        },
      );
      assert.equal(c.purposes.advertising!.proof.sourceId, h.sourceId);
      await send(h, [
        {
          type: 'track',
          userId: 'c-ann',
          event: 'Segment Consent Preference Updated',
          timestamp: '2026-10-02T10:00:00Z',
          context: { consent: { categoryPreferences: { Advertising: false } } },
        },
      ]);
      c = await consentOf(id);
      assert.equal(c.purposes.advertising?.status, 'revoked', 'a refusal after a grant is a revocation');
      assert.equal(c.history.filter((x) => x.purpose === 'advertising').length, 2, 'the full history is kept');
      assert.equal(c.decisions.advertising?.allowed, false);
    });

    it('operator changes and imports land with their proof and are audited', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      await send(h, [{ type: 'identify', userId: 'c-op', traits: { email: 'c.op@example.com' } }]);
      const id = (await profileIdOf(h, 'user_id', 'c-op'))!;
      const put = await adminJson<Consent>(h, `/api/v1/profiles/${id}/consent`, {
        method: 'PUT',
        body: JSON.stringify({
          operator: 'dpo@example.com',
          changes: [{ purpose: 'email_marketing', choice: 'granted', textVersion: 'newsletter-2' }],
        }),
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.equal(put.body.purposes.email_marketing?.status, 'granted');
      assert.equal(put.body.purposes.email_marketing?.proof.operator, 'dpo@example.com');
      assert.equal(put.body.purposes.email_marketing?.proof.source, 'api');
      const unknown = await adminJson(h, `/api/v1/profiles/${id}/consent`, {
        method: 'PUT',
        body: JSON.stringify({ operator: 'x', changes: [{ purpose: 'telepathy', choice: 'granted' }] }),
      });
      assert.equal(unknown.status, 400);
      const imported = await adminJson<{ applied: number; notFound: number[] }>(h, '/api/v1/consent/import', {
        method: 'POST',
        body: JSON.stringify({
          operator: 'crm-import',
          records: [
            {
              subject: { type: 'email', value: 'C.Op@Example.com' },
              changes: [{ purpose: 'advertising', choice: 'denied', at: '2026-09-01T00:00:00Z' }],
            },
            { subject: { type: 'email', value: 'nobody@example.com' }, changes: [{ purpose: 'advertising', choice: 'denied' }] },
          ],
        }),
      });
      assert.deepEqual(imported.body, { applied: 1, notFound: [1] });
      const c = await consentOf(id);
      assert.equal(c.purposes.advertising?.status, 'denied');
      assert.equal(c.purposes.advertising?.proof.source, 'import');
      const decision = await adminJson<{ decisions: Record<string, { allowed: boolean }> }>(
        h,
        `/api/v1/profiles/${id}/consent/decisions?purpose=email_marketing`,
      );
      assert.equal(decision.body.decisions.email_marketing?.allowed, true);
      const audit = await adminJson<{ items: Array<{ action: string; actor: string; target: string }> }>(
        h,
        '/api/v1/audit?action=consent.change',
      );
      assert.ok(audit.body.items.some((e) => e.actor === 'dpo@example.com' && e.target === id));
      assert.ok(audit.body.items.some((e) => e.actor === 'crm-import'));
      const profile = await adminJson<{ consent: { purposes: Record<string, { allowed: boolean }> } }>(h, `/api/v1/profiles/${id}`);
      assert.equal(profile.body.consent.purposes.email_marketing?.allowed, true, 'the profile body shows consent');
    });

    it('a merge keeps the more restrictive state per purpose, and what only one side chose', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      await send(h, [
        {
          type: 'page',
          anonymousId: 'm-anon',
          name: 'A',
          timestamp: '2026-10-05T10:00:00Z',
          context: prefs({ Advertising: true, Functional: true }),
        },
        { type: 'page', userId: 'm-user', name: 'B', timestamp: '2026-10-01T10:00:00Z', context: prefs({ Advertising: false }) },
      ]);
      const anon = (await profileIdOf(h, 'anonymous_id', 'm-anon'))!;
      const user = (await profileIdOf(h, 'user_id', 'm-user'))!;
      assert.notEqual(anon, user);
      assert.equal((await consentOf(anon)).purposes.advertising?.status, 'granted');
      await send(h, [{ type: 'identify', userId: 'm-user', anonymousId: 'm-anon', timestamp: '2026-10-06T10:00:00Z' }]);
      const merged = (await profileIdOf(h, 'user_id', 'm-user'))!;
      assert.equal(merged, await profileIdOf(h, 'anonymous_id', 'm-anon'));
      const c = await consentOf(merged);
      assert.equal(c.purposes.advertising?.status, 'denied', 'the refusal wins over the later grant of the other profile');
      assert.equal(c.purposes.personalization?.status, 'granted', 'a choice only one side made is kept');
      assert.equal(c.history.length, 3, 'both histories are kept');
      const audit = await adminJson<{ items: Array<{ action: string; target: string }> }>(h, '/api/v1/audit?action=identity.merge');
      assert.ok(audit.body.items.some((e) => e.target === merged));
    });

    it('choices of two devices and the merge that joins them, all in one batch: the merge rule still decides', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      // The follower sees the merge and both choices in one step; each choice belongs to the profile of
      // its moment, so the later grant on the other device does not undo the refusal.
      await send(h, [
        ...twoDevices('b-anon', 'b-user'),
        { type: 'identify', userId: 'b-user', anonymousId: 'b-anon', timestamp: '2026-10-06T10:00:00Z' },
        { type: 'page', userId: 'b-user', name: 'C', timestamp: '2026-10-07T10:00:00Z', context: prefs({ Analytics: false }) },
      ]);
      const person = (await profileIdOf(h, 'user_id', 'b-user'))!;
      assert.equal(person, await profileIdOf(h, 'anonymous_id', 'b-anon'));
      const c = await consentOf(person);
      assert.deepEqual(
        statuses(c),
        { advertising: 'denied', personalization: 'granted', analytics: 'denied' },
        'the refusal wins the merge; the choice after the merge lands on the merged profile',
      );
      assert.equal(c.history.length, 4, 'every choice is in the history');
    });

    it('a merge with a choice carried right after it, then an unmerge that passes on only the refusals', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      await send(h, twoDevices('w-anon', 'w-user'));
      const anon = (await profileIdOf(h, 'anonymous_id', 'w-anon'))!;
      const user = (await profileIdOf(h, 'user_id', 'w-user'))!;
      assert.equal((await consentOf(anon)).purposes.advertising?.status, 'granted');
      // The operator's merge and the person's next choice, with no consent read between: the follower's
      // next step merges the two stored states and applies the choice to the result.
      const merge = await adminJson<{ profileId: string }>(h, '/api/v1/profiles/merge', {
        method: 'POST',
        body: JSON.stringify({ profileIds: [anon, user], reason: 'same person' }),
      });
      assert.equal(merge.status, 200, JSON.stringify(merge.body));
      await send(h, [
        { type: 'page', userId: 'w-user', name: 'C', timestamp: '2026-10-07T10:00:00Z', context: prefs({ Analytics: false }) },
      ]);
      const person = merge.body.profileId;
      assert.deepEqual(
        statuses(await consentOf(person)),
        { advertising: 'denied', personalization: 'granted', analytics: 'denied' },
        'the refusal wins the merge; the later choice lands on the merged profile',
      );
      assert.equal((await adminJson(h, `/api/v1/profiles/${anon === person ? user : anon}/consent`)).body.profileId, person);

      const unmerged = await adminJson(h, `/api/v1/profiles/${person}/unmerge`, {
        method: 'POST',
        body: JSON.stringify({ identifier: { type: 'user_id', value: 'w-user' }, reason: 'shared computer' }),
      });
      assert.equal(unmerged.status, 200, JSON.stringify(unmerged.body));
      // Profile ids follow identifiers: the person keeps the merged id, the anonymous id gets its own back.
      assert.equal(await profileIdOf(h, 'user_id', 'w-user'), person);
      const detached = (await profileIdOf(h, 'anonymous_id', 'w-anon'))!;
      assert.notEqual(detached, person);
      assert.deepEqual(statuses(await consentOf(detached)), { advertising: 'denied', analytics: 'denied' }, 'refusals, never grants');
      assert.deepEqual(statuses(await consentOf(person)), { advertising: 'denied', personalization: 'granted', analytics: 'denied' });
    });

    it('STOP by SMS flips the phone subscription; START resubscribes with keyword proof; HELP answers', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      const phone = '+14155550142';
      await send(h, [{ type: 'identify', userId: 'sms-user', traits: { phone } }]);
      const optIn = await adminJson(h, '/api/v1/consent/subscriptions', {
        method: 'PUT',
        body: JSON.stringify({
          operator: 'web-form',
          channel: 'sms',
          address: phone,
          status: 'subscribed',
          proof: { method: 'form', textVersion: 'sms-terms-1' },
        }),
      });
      assert.equal(optIn.status, 200, JSON.stringify(optIn.body));
      const stop = await sms(phone, ' Stop ');
      assert.equal(stop.status, 200);
      assert.match(await stop.text(), /unsubscribed/);
      const sub = await adminJson<{ status: string; proof: { keyword: string; source: string } }>(
        h,
        `/api/v1/consent/subscriptions?channel=sms&address=${encodeURIComponent(phone)}`,
      );
      assert.equal(sub.body.status, 'unsubscribed');
      assert.equal(sub.body.proof.keyword, 'STOP');
      const decision = await adminJson<{ decision: { allowed: boolean; reason: string } }>(
        h,
        `/api/v1/consent/contact-decision?channel=sms&address=${encodeURIComponent(phone)}`,
      );
      assert.equal(decision.body.decision.allowed, false);
      assert.equal((await sms(phone, 'START')).status, 200);
      const id = (await profileIdOf(h, 'phone', phone))!;
      const c = await consentOf(id);
      assert.equal(c.subscriptions.find((s) => s.contactPoint.address === phone)?.status, 'subscribed');
      assert.equal(c.purposes.sms_marketing?.status, 'granted', 'START is an express opt-in');
      const body = await adminJson<{ consent: { subscriptions: Record<string, string> } }>(h, `/api/v1/profiles/${id}`);
      assert.deepEqual(body.body.consent.subscriptions, { [`sms:${phone}`]: 'subscribed' }, 'the profile body shows the subscription');
      assert.match(await (await sms(phone, 'help')).text(), /For help/);
      assert.match(await (await sms(phone, 'see you tomorrow')).text(), /<Response\/>/);
      assert.equal((await sms(phone, 'STOP', 'wrong-secret-wrong-secret')).status, 401);
    });

    it('refuses a marketing SMS opt-in without proof', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      const res = await adminJson<{ error: { code: string; message: string } }>(h, '/api/v1/consent/subscriptions', {
        method: 'PUT',
        body: JSON.stringify({ operator: 'someone', channel: 'sms', address: '+14155550143', status: 'subscribed' }),
      });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'missing_opt_in_proof');
      const noText = await adminJson<{ error: { code: string } }>(h, '/api/v1/consent/subscriptions', {
        method: 'PUT',
        body: JSON.stringify({
          operator: 'someone',
          channel: 'sms',
          address: '+14155550143',
          status: 'subscribed',
          proof: { method: 'checkbox' },
        }),
      });
      assert.equal(noText.body.error.code, 'missing_opt_in_proof', 'a checkbox needs the consent text version');
      const sub = await adminJson<{ status: string }>(h, '/api/v1/consent/subscriptions?channel=sms&address=%2B14155550143');
      assert.equal(sub.body.status, 'did_not_subscribe');
    });

    it('the signed unsubscribe link unsubscribes its address, and a tampered one is refused', async (t) => {
      if (!h) return t.skip('PostgreSQL not reachable');
      const link = await adminJson<{ token: string; path: string }>(h, '/api/v1/consent/unsubscribe-links', {
        method: 'POST',
        body: JSON.stringify({ email: 'Link.User@Example.com' }),
      });
      assert.ok(!link.body.path.includes('link.user'), 'the address is not readable in the link');
      const page = await fetch(`${h.url}${link.body.path}`);
      assert.equal(page.status, 200);
      const before = await adminJson<{ status: string }>(h, '/api/v1/consent/subscriptions?channel=email&address=link.user@example.com');
      assert.equal(before.body.status, 'did_not_subscribe', 'GET (mail scanners) changes nothing');
      const click = await fetch(`${h.url}${link.body.path}`, {
        method: 'POST',
        body: 'List-Unsubscribe=One-Click',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(click.status, 200);
      const after = await adminJson<{ status: string; proof: { source: string } }>(
        h,
        '/api/v1/consent/subscriptions?channel=email&address=link.user@example.com',
      );
      assert.equal(after.body.status, 'unsubscribed');
      assert.equal(after.body.proof.source, 'link');
      const t2 = link.body.token;
      const tampered = t2.slice(0, 20) + (t2[20] === 'A' ? 'B' : 'A') + t2.slice(21);
      assert.equal((await fetch(`${h.url}/v1/consent/unsubscribe?token=${tampered}`, { method: 'POST' })).status, 401);
    });
  });
}
