import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rowsToMessages } from '../../../src/core/import/csv-rows.ts';

describe('import rows become Segment messages', () => {
  it('a CRM contact becomes an identify with identifiers as traits, other columns as traits, created_at kept', () => {
    const { messages, rejected } = rowsToMessages(
      [
        {
          email: ' Ann@Example.com ',
          phone: '512-645-7600',
          first_name: 'Ann',
          ltv: '120.5',
          zip: '02139',
          created_at: '2023-10-08T15:29:16Z',
        },
      ],
      { kind: 'identify' },
      'src|identify|',
    );
    assert.deepEqual(rejected, []);
    const m = messages[0]!;
    assert.equal(m.type, 'identify');
    assert.deepEqual(m.traits, {
      email: 'Ann@Example.com',
      phone: '512-645-7600',
      first_name: 'Ann',
      ltv: 120.5,
      zip: '02139',
      created_at: '2023-10-08T15:29:16Z',
    });
    assert.equal(m.timestamp, '2023-10-08T15:29:16.000Z');
    assert.match(m.anonymousId as string, /^import:[0-9a-f]{32}$/);
  });

  it('one person gets one derived anonymous id whatever the e-mail case or spacing', () => {
    const { messages } = rowsToMessages([{ email: 'ann@example.com' }, { email: ' ANN@example.COM' }], { kind: 'identify' }, 'k');
    assert.equal(messages[0]!.anonymousId, messages[1]!.anonymousId);
  });

  it('a purchase becomes a track with properties, the fixed event name, ids kept as text', () => {
    const { messages } = rowsToMessages(
      [{ userId: 'u1', order_id: '700001', revenue: '35.37', purchased_at: '2026-10-31T09:45:16Z' }],
      { kind: 'track', event: 'Order Completed' },
      'k',
    );
    assert.deepEqual(
      { event: messages[0]!.event, userId: messages[0]!.userId, properties: messages[0]!.properties },
      { event: 'Order Completed', userId: 'u1', properties: { order_id: '700001', revenue: 35.37, purchased_at: '2026-10-31T09:45:16Z' } },
    );
  });

  it('consent columns become categoryPreferences; an unreadable one rejects the row', () => {
    const { messages, rejected } = rowsToMessages(
      [
        { userId: 'a', 'consent.Marketing': 'no', 'consent.Analytics': 'yes' },
        { userId: 'b', 'consent.Marketing': 'maybe' },
      ],
      { kind: 'identify' },
      'k',
    );
    assert.deepEqual((messages[0]!.context as { consent: unknown }).consent, {
      categoryPreferences: { Marketing: false, Analytics: true },
    });
    assert.deepEqual(rejected, [{ row: 2, reason: 'column consent.Marketing: consent must be true or false, not "maybe"' }]);
  });

  it('rejects rows without identifier, with a bad time, or a track row without event name, and keeps the others', () => {
    const { messages, rejected } = rowsToMessages(
      [{ name: 'x' }, { userId: 'u', timestamp: 'yesterday' }, { userId: 'u2' }],
      { kind: 'track' },
      'k',
    );
    assert.equal(messages.length, 0);
    assert.deepEqual(
      rejected.map((r) => r.row),
      [1, 2, 3],
    );
    const ok = rowsToMessages([{ userId: 'u2', event: 'Survey Answered', nps: '9' }], { kind: 'track' }, 'k');
    assert.equal(ok.messages[0]!.event, 'Survey Answered');
    assert.deepEqual(ok.messages[0]!.properties, { nps: 9 });
  });

  it('derives the same messageId for the same row (re-importing a file is de-duplicated) and a different one per source', () => {
    const row = [{ userId: 'u', plan: 'pro' }];
    const a = rowsToMessages(row, { kind: 'identify' }, 'src1|identify|').messages[0]!.messageId;
    assert.equal(rowsToMessages(row, { kind: 'identify' }, 'src1|identify|').messages[0]!.messageId, a);
    assert.notEqual(rowsToMessages(row, { kind: 'identify' }, 'src2|identify|').messages[0]!.messageId, a);
  });
});
