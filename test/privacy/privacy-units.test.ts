/** The privacy services' own logic: the collection gate, the unmerge rule, payload redaction, unsubscribe tokens. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { alignToFacts, refusalsOf } from '../../src/consent/consent-follower.ts';
import { readUnsubscribeToken, signUnsubscribeToken } from '../../src/consent/unsubscribe-token.ts';
import { applyConsentChanges, EMPTY_CONSENT } from '../../src/core/consent/state.ts';
import type { TrackedEvent } from '../../src/core/event/event.ts';
import { suppressionKey } from '../../src/core/privacy/suppression.ts';
import { deriveSecrets } from '../../src/privacy/installation-secret.ts';
import { PrivacyGate } from '../../src/privacy/privacy-gate.ts';
import { redactPayload } from '../../src/privacy/subject-operations.ts';
import { openPrivacyStore } from '../../src/storage/privacy/open-privacy-store.ts';
import type { PrivacyStore } from '../../src/storage/privacy/privacy-store.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { DecodedEvent } from '../../src/processor/event-gate.ts';

const secrets = deriveSecrets('unit-test-installation-secret-0123456789');
const NOW = Date.parse('2026-11-01T12:00:00Z');

function anEvent(message: Record<string, unknown>, sourceId = 'src_a'): DecodedEvent {
  const event: TrackedEvent = {
    sourceId,
    messageId: `m-${Math.random()}`,
    type: (message.type as TrackedEvent['type']) ?? 'track',
    name: (message.event as string | undefined) ?? null,
    userId: (message.userId as string | undefined) ?? null,
    anonymousId: (message.anonymousId as string | undefined) ?? null,
    timestamp: NOW - 1000,
    receivedAt: NOW,
    message,
  };
  return { event, payload: JSON.stringify(message) };
}

describe('the collection gate', () => {
  let store: SqliteStore;
  let privacy: PrivacyStore;
  let gate: PrivacyGate;
  before(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
    privacy = await openPrivacyStore(store);
    await privacy.migrate();
    gate = new PrivacyGate({ data: privacy.data, secrets, phoneRegion: 'US', now: () => NOW });
  });
  after(() => store.close());

  it('drops events naming a suppressed identifier by any of its identifiers, and keeps the others untouched', async () => {
    await privacy.data.addSuppressions(
      [suppressionKey(secrets.suppression, { type: 'email', value: 'gone@example.com' })],
      'r1',
      false,
      NOW,
    );
    await privacy.data.bumpVersion();
    const batch = [
      anEvent({ type: 'identify', anonymousId: 'x', traits: { email: ' GONE@example.com ' } }),
      anEvent({ type: 'track', userId: 'kept', event: 'Clicked' }),
      anEvent({ type: 'track', anonymousId: 'y', event: 'Clicked', context: { traits: { email: 'gone@example.com' } } }),
    ];
    await gate.refresh(batch);
    const result = gate.apply(batch);
    assert.deepEqual(result.dropped, { suppressed: 2 });
    assert.equal(result.kept.length, 1);
    assert.equal(result.kept[0], batch[1], 'an event without a policy is kept as the same object');
    // Identity resolution reuses what the gate extracted from an event it kept unchanged (same region only).
    assert.deepEqual(result.extractedOf?.(batch[1]!, 'US')?.identifiers, [{ type: 'user_id', value: 'kept' }]);
    assert.equal(result.extractedOf?.(batch[1]!, 'GB'), undefined);
    assert.equal(result.extractedOf?.(batch[0]!, 'US'), undefined, 'nothing for a dropped event');
  });

  it('a choice carried by an earlier event of the batch counts for a later one; carried choices go to the inbox', async () => {
    await privacy.data.putPolicy('src_p', { mode: 'drop', requiredPurpose: 'advertising' }, 'test', NOW);
    await privacy.data.bumpVersion();
    const batch = [
      anEvent(
        { type: 'track', userId: 'u9', event: 'Banner', context: { consent: { categoryPreferences: { Advertising: true } } } },
        'src_p',
      ),
      anEvent({ type: 'track', userId: 'u9', event: 'Clicked' }, 'src_p'),
      anEvent({ type: 'track', userId: 'other', event: 'Clicked' }, 'src_p'),
    ];
    await gate.refresh(batch);
    const result = gate.apply(batch);
    assert.deepEqual(
      result.kept.map((e) => e.event.userId),
      ['u9', 'u9'],
    );
    assert.deepEqual(result.dropped, { policy_drop: 1 });
    assert.equal(result.decisions['purpose:advertising:granted'], 2);
    // Carried choices are handed over whatever happens to their event, to be written with the batch.
    assert.deepEqual(
      result.consentInbox?.map((r) => r.identifiers),
      [['user_id:u9']],
    );
    assert.equal(gate.apply(batch).consentInbox?.length, 0, 'handed over once per refresh');
  });

  it('restricts and re-serialises transformed events consistently with their message', async () => {
    await privacy.data.putPolicy(
      'src_r',
      { mode: 'restrict', requiredPurpose: 'advertising', fieldRules: [{ path: 'properties.email', action: 'remove' }] },
      'test',
      NOW,
    );
    await privacy.data.bumpVersion();
    const batch = [anEvent({ type: 'track', userId: 'u1', event: 'X', properties: { email: 'a@b.io', n: 1 } }, 'src_r')];
    await gate.refresh(batch);
    const [kept] = gate.apply(batch).kept;
    assert.equal(kept?.restricted, true);
    assert.deepEqual(JSON.parse(kept!.payload), kept!.event.message);
    assert.deepEqual(kept!.event.message.properties, { n: 1 });
    assert.deepEqual(batch[0]!.event.message.properties, { email: 'a@b.io', n: 1 }, 'the input is not mutated');
  });
});

describe('privacy rules', () => {
  it('an unmerged profile inherits the refusals of the profile it left, never its grants', () => {
    const proof = (at: number) => ({ source: 'api' as const, at });
    const state = applyConsentChanges(EMPTY_CONSENT, [
      { purpose: 'advertising', choice: 'granted', proof: proof(1) },
      { purpose: 'analytics', choice: 'granted', proof: proof(1) },
      { purpose: 'advertising', choice: 'denied', proof: proof(2) },
      { purpose: 'email_marketing', choice: 'denied', proof: proof(3) },
    ]);
    const inherited = refusalsOf(state);
    assert.deepEqual(Object.keys(inherited.purposes).sort(), ['advertising', 'email_marketing']);
    assert.ok(inherited.history.every((h) => h.choice === 'denied'));
  });

  it("the consent follower's step stops both lists where both are complete, in fact order", () => {
    const m = (...facts: number[]) => facts.map((factSeq) => ({ factSeq }));
    const r = (...facts: Array<number | null>) => facts.map((f) => ({ placement: f === null ? null : { factSeq: f, profileId: 'p' } }));
    const facts = (x: { entries: Array<{ factSeq: number }>; rows: Array<{ placement: { factSeq: number } | null }> }) => [
      x.entries.map((e) => e.factSeq),
      x.rows.map((row) => row.placement?.factSeq ?? null),
    ];
    // Neither list full: everything.
    assert.deepEqual(facts(alignToFacts(m(3, 7), r(2, 9, null), 5)), [
      [3, 7],
      [2, 9, null],
    ]);
    // A full merge list ends at its last fact: later choices wait; unplaced ones do not.
    assert.deepEqual(facts(alignToFacts(m(3, 7), r(2, 5, 9, null), 2)), [
      [3, 7],
      [2, 5, null],
    ]);
    // A full inbox list ends at its last placed fact: later merges wait.
    assert.deepEqual(facts(alignToFacts(m(1, 4, 6), r(2, null, 5), 3)), [
      [1, 4],
      [2, null, 5],
    ]);
    // Both full: the earlier end.
    assert.deepEqual(facts(alignToFacts(m(3, 7), r(2, 5), 2)), [[3], [2, 5]]);
    // A full inbox list of unplaced rows constrains nothing.
    assert.deepEqual(facts(alignToFacts(m(3, 7), r(null, null), 2)), [
      [3, 7],
      [null, null],
    ]);
  });

  it('redaction removes identity, PII fields and any string naming the subject, keeping the rest', () => {
    const payload = JSON.stringify({
      type: 'track',
      userId: 'u-42',
      event: 'Invited',
      properties: { total: 3, note: 'from ANN@example.com', email: 'ann@example.com' },
      context: { ip: '192.0.2.1' },
    });
    const out = JSON.parse(
      redactPayload(payload, {
        start: 'email:ann@example.com',
        profileId: null,
        keys: ['email:ann@example.com', 'user_id:u-42'],
        profileIds: [],
        sharedKeys: [],
      }),
    ) as { userId?: string; event: string; properties: unknown; context: { ip?: string } };
    assert.equal(out.userId, undefined);
    assert.deepEqual(out.properties, { total: 3, note: '[redacted]' });
    assert.equal(out.context.ip, undefined);
    assert.equal(out.event, 'Invited');
  });

  it('unsubscribe tokens round-trip, and refuse tampering, other keys and expiry', () => {
    const token = signUnsubscribeToken(secrets.links, 'a@b.io', NOW);
    assert.equal(readUnsubscribeToken(secrets.links, token, NOW), 'a@b.io');
    assert.equal(readUnsubscribeToken(deriveSecrets('another-installation-secret-00000000').links, token, NOW), null);
    assert.equal(readUnsubscribeToken(secrets.links, token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA'), NOW), null);
    assert.equal(readUnsubscribeToken(secrets.links, token, NOW + 400 * 86_400_000), null);
    assert.equal(readUnsubscribeToken(secrets.links, 'garbage', NOW), null);
  });
});
