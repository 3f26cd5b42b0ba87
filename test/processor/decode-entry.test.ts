/** Turning one log entry back into events: an entry the log could not read back is one failed event, saying why. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogRecord } from '../../src/log/event-log.ts';
import { decodeEntry } from '../../src/processor/decode-entry.ts';

const limits = { maxMessageBytes: 32 * 1024, maxDepth: 32 };
const record = (over: Partial<LogRecord>): LogRecord => ({
  seq: 7,
  sourceId: 'src_web',
  receivedAt: Date.parse('2026-12-01T08:00:00Z'),
  typeHint: null,
  shape: 'batch',
  body: JSON.stringify({ batch: [{ type: 'track', event: 'Viewed', anonymousId: 'a1', messageId: 'm1' }] }),
  messages: 1,
  ...over,
});

describe('decodeEntry', () => {
  it('decodes a batch into its events', () => {
    const out = decodeEntry(record({}), limits);
    assert.equal(out.events.length, 1);
    assert.deepEqual(out.failed, []);
  });

  it('records an unreadable entry as one failed event with its reason and how many messages it held', () => {
    const out = decodeEntry(record({ body: '', messages: 40, unreadable: 'log entry 7: its key k1 is no longer in the store' }), limits);
    assert.deepEqual(out.events, []);
    assert.equal(out.failed.length, 1);
    assert.equal(out.failed[0]!.reason, 'unreadable_entry');
    assert.equal(out.failed[0]!.sourceId, 'src_web');
    assert.equal(out.failed[0]!.detail, 'log entry 7: its key k1 is no longer in the store (40 message(s) lost)');
  });
});
