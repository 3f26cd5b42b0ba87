/** The batch form of a kept event: which messages a micro-batch lets go of after the gate, and which it keeps. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headerOf, type EventType } from '../../src/core/event/event.ts';
import { normalizeMessage } from '../../src/core/event/normalize.ts';
import { extractIdentifiers } from '../../src/core/identity/identifiers.ts';
import { resolutionReadsMessage, toBatchEvent, trackedEventOf } from '../../src/processor/batch-event.ts';
import type { DecodedEvent } from '../../src/processor/event-gate.ts';
import { normalizeContext } from '../support/fixtures.ts';

const RECEIVED = Date.parse('2026-12-01T08:00:00Z');

function decoded(type: EventType, extra: Record<string, unknown> = {}): DecodedEvent {
  const raw = { type, userId: 'u1', anonymousId: 'a1', messageId: `m-${type}`, event: 'Viewed', groupId: 'g1', previousId: 'a0', ...extra };
  const result = normalizeMessage(raw, normalizeContext({ sourceId: 'src_web', receivedAt: RECEIVED }));
  assert.ok(result.ok);
  return { event: result.event, payload: result.payload };
}

const extracted = (e: DecodedEvent) => extractIdentifiers(e.event, { defaultRegion: 'US' });

describe('toBatchEvent', () => {
  for (const type of ['track', 'page', 'screen'] as const) {
    it(`lets a ${type} event's message go when the gate extracted its identifiers`, () => {
      const e = decoded(type, { properties: { plan: 'pro' }, context: { traits: { email: 'A@Example.com' } } });
      const x = extracted(e);
      const b = toBatchEvent(e, x);
      assert.equal(b.message, undefined);
      assert.deepEqual(b.event, headerOf(e.event));
      assert.equal('message' in b.event, false, 'the header is a new object without the message');
      assert.equal(b.payload, e.payload, 'the stored JSON still holds the whole message');
      assert.equal(b.extracted, x);
      assert.equal(b.restricted, false);
      assert.throws(() => trackedEventOf(b), /its message was let go/);
    });
  }

  for (const type of ['identify', 'group', 'alias'] as const) {
    it(`keeps a ${type} event's message: resolution reads it`, () => {
      const e = decoded(type, { traits: { plan: 'pro' } });
      const b = toBatchEvent(e, extracted(e));
      assert.equal(resolutionReadsMessage(type), true);
      assert.equal(b.message, e.event.message);
      assert.deepEqual(trackedEventOf(b), e.event);
    });
  }

  it('keeps the message of any event whose identifiers the gate did not extract (an event it changed)', () => {
    const e = decoded('track');
    const b = toBatchEvent(e, undefined);
    assert.equal(b.extracted, undefined);
    assert.deepEqual(trackedEventOf(b), e.event);
  });

  it('carries a restriction', () => {
    const b = toBatchEvent({ ...decoded('track'), restricted: true }, undefined);
    assert.equal(b.restricted, true);
  });
});
