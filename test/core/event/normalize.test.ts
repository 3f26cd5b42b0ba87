/** Per-message validation and normalisation, in the protocol's own terms. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeMessage } from '../../../src/core/event/normalize.ts';
import { normalizeContext as ctx } from '../../support/fixtures.ts';

const RECEIVED = Date.parse('2026-11-29T12:00:00.000Z');

function accepted(raw: unknown, c = ctx()) {
  const r = normalizeMessage(raw, c);
  if (!r.ok) assert.fail(`expected acceptance, got ${r.failed.reason}: ${r.failed.detail}`);
  return r;
}

describe('event time', () => {
  it('an explicit timestamp is the event time (historical import)', () => {
    const r = accepted({ type: 'track', event: 'E', userId: 'u', timestamp: '2024-01-02T03:04:05.000Z', sentAt: '2026-11-29T12:00:00Z' });
    assert.equal(r.event.timestamp, Date.parse('2024-01-02T03:04:05.000Z'));
  });
  it('originalTimestamp + sentAt correct the device clock skew', () => {
    // The device clock is 1 hour fast: it sent 2 s after the event happened.
    const r = accepted({
      type: 'track',
      event: 'E',
      userId: 'u',
      originalTimestamp: '2026-11-29T12:59:58.000Z',
      sentAt: '2026-11-29T13:00:00.000Z',
    });
    assert.equal(r.event.timestamp, RECEIVED - 2000);
  });
  it('batch-level sentAt is used when the message has none', () => {
    const r = accepted(
      { type: 'track', event: 'E', userId: 'u', originalTimestamp: '2026-11-29T12:59:50.000Z' },
      ctx({ batchSentAt: '2026-11-29T13:00:00.000Z' }),
    );
    assert.equal(r.event.timestamp, RECEIVED - 10_000);
  });
  it('no time fields: the server clock', () => {
    assert.equal(accepted({ type: 'track', event: 'E', userId: 'u' }).event.timestamp, RECEIVED);
  });
});

describe('normalisation', () => {
  it('merges batch context and integrations under the message, drops writeKey, generates a messageId', () => {
    const r = accepted(
      { type: 'track', event: 'E', anonymousId: 42, writeKey: 'secret', context: { ip: '1.2.3.4' }, integrations: { A: false } },
      ctx({ batchContext: { ip: '9.9.9.9', library: { name: 'x' } }, batchIntegrations: { All: true, A: true } }),
    );
    assert.equal(r.event.messageId, 'tessera-7-0');
    assert.equal(r.event.anonymousId, '42');
    assert.deepEqual(r.event.message.context, { ip: '1.2.3.4', library: { name: 'x' } });
    assert.deepEqual(r.event.message.integrations, { All: true, A: false });
    assert.equal('writeKey' in r.event.message, false);
    assert.equal(JSON.parse(r.payload).receivedAt, '2026-11-29T12:00:00.000Z');
  });
  it('takes the type from the path when the message has none', () => {
    assert.equal(accepted({ event: 'E', userId: 'u' }, ctx({ typeHint: 'track' })).event.type, 'track');
  });
  it('replaces NUL in ids and payload alike', () => {
    const r = accepted({ type: 'page', name: 'a\u0000b', userId: 'u\u0000' });
    assert.equal(r.event.userId, 'u\uFFFD');
    assert.equal(r.event.name, 'a\uFFFDb');
    assert.equal(r.payload.includes('\\u0000'), false);
  });
  it('counts message size in UTF-8 bytes', () => {
    const emoji = '😀'.repeat(2000); // 8,000 bytes in 4,000 UTF-16 units
    const r = normalizeMessage({ type: 'track', event: 'E', userId: 'u', properties: { emoji } }, ctx({ maxMessageBytes: 6000 }));
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.failed.reason, 'message_too_large');
  });
});
