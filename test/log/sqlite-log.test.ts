/** The embedded durable log: reads in order, bounded by records and by messages, and truncation. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { SqliteEventLog } from '../../src/log/sqlite/sqlite-log.ts';
import { tempDir } from '../support/harness.ts';

describe('SQLite event log', () => {
  it('reads after a position, at most `limit` records and `maxMessages` messages, never less than one record', async () => {
    const log = new SqliteEventLog(path.join(tempDir(), 'log.sqlite'));
    try {
      const seqs: number[] = [];
      for (const messages of [3, 4, 10, 2, 2]) {
        seqs.push(await log.append({ sourceId: 's', receivedAt: 1, typeHint: null, shape: 'batch', body: `{"n":${messages}}`, messages }));
      }
      const bodies = (r: ReturnType<typeof log.read>) => r.map((x) => x.body);
      assert.deepEqual(bodies(log.read(0, 100, 7)), ['{"n":3}', '{"n":4}'], 'stops before the message limit');
      assert.deepEqual(bodies(log.read(seqs[1]!, 100, 5)), ['{"n":10}'], 'one record even past the limit');
      assert.deepEqual(bodies(log.read(seqs[2]!, 100, 100)), ['{"n":2}', '{"n":2}']);
      assert.deepEqual(bodies(log.read(0, 2, 100)), ['{"n":3}', '{"n":4}'], 'at most `limit` records');
      assert.deepEqual(log.read(seqs[4]!, 100, 100), [], 'nothing after the head');
      assert.equal(log.backlog(seqs[1]!).messages, 14);
      log.truncate(seqs[2]!);
      assert.deepEqual(bodies(log.read(0, 100, 100)), ['{"n":2}', '{"n":2}'], 'truncated records are gone');
      assert.equal(log.backlog(seqs[2]!).messages, 4, 'the running count survives truncation');
    } finally {
      await log.close();
    }
  });

  it('keeps non-ASCII bodies as the same JSON, stored as ASCII', async () => {
    const file = path.join(tempDir(), 'log.sqlite');
    const log = new SqliteEventLog(file);
    try {
      const body = JSON.stringify({ batch: [{ type: 'identify', userId: 'u1', traits: { name: 'Zoë Ångström', city: '東京 😀' } }] });
      const seq = await log.append({ sourceId: 's', receivedAt: 1, typeHint: null, shape: 'batch', body, messages: 1 });
      const [record] = log.read(seq - 1, 1, 1);
      assert.deepEqual(JSON.parse(record!.body), JSON.parse(body));
      assert.match(record!.body, /^[\x00-\x7f]*$/);
    } finally {
      await log.close();
    }
  });
});
