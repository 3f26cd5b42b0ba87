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

describe('SQLite event log with background sync (the edge)', () => {
  /** A sync the test lets finish (or fail) when it says. */
  function heldSyncs() {
    const calls: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
    return {
      calls,
      sync: () => new Promise<void>((resolve, reject) => calls.push({ resolve, reject })),
    };
  }
  const entry = (n: number) => ({ sourceId: 's', receivedAt: 1, typeHint: null, shape: 'batch' as const, body: `{"n":${n}}`, messages: 1 });
  const settle = () => new Promise((r) => setImmediate(r));
  /** The edge's writer with syncs held by the test, and a reader sharing its cell (as the processor's thread). */
  function writerAndReader() {
    const file = path.join(tempDir(), 'log.sqlite');
    const syncs = heldSyncs();
    const writer = new SqliteEventLog(file, { backgroundSync: true, syncWal: syncs.sync });
    const reader = new SqliteEventLog(file, { unsyncedFrom: writer.unsyncedFrom });
    return { syncs, writer, reader };
  }

  it('answers an append only after a sync that began after its commit, and readers see nothing before that sync', async () => {
    const { syncs, writer, reader } = writerAndReader();
    try {
      const acked: number[] = [];
      const first = writer.append(entry(1)).then((seq) => acked.push(seq));
      await settle();
      assert.equal(syncs.calls.length, 1, 'the commit is followed by a sync');
      assert.deepEqual(reader.read(0, 100, 100), [], 'committed, not synced: not read');
      assert.equal(acked.length, 0, 'not answered before its sync');

      // Committed while the first sync runs: waits for the next one.
      const second = writer.append(entry(2)).then((seq) => acked.push(seq));
      await settle();
      assert.equal(syncs.calls.length, 1, 'one sync at a time');
      syncs.calls[0]!.resolve();
      await first;
      assert.deepEqual(acked, [1]);
      assert.deepEqual(
        reader.read(0, 100, 100).map((r) => r.body),
        ['{"n":1}'],
        'the first is durable; the second is committed but not synced',
      );
      assert.equal(syncs.calls.length, 2, 'the next sync begins at once');
      syncs.calls[1]!.resolve();
      await second;
      assert.deepEqual(acked, [1, 2]);
      assert.deepEqual(
        reader.read(0, 100, 100).map((r) => r.body),
        ['{"n":1}', '{"n":2}'],
      );
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it('fails the appends of a failed sync and keeps readers before them until a later sync succeeds', async () => {
    const { syncs, writer, reader } = writerAndReader();
    try {
      const failed = writer.append(entry(1));
      await settle();
      syncs.calls[0]!.reject(new Error('EIO'));
      await assert.rejects(failed, /EIO/);
      assert.deepEqual(reader.read(0, 100, 100), [], 'not known to be on disk: still not read');
      // The retry (after a short pause) covers it, and what was committed since.
      const later = writer.append(entry(2));
      for (let i = 0; i < 500 && syncs.calls.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(syncs.calls.length, 2);
      syncs.calls[1]!.resolve();
      await later;
      assert.deepEqual(
        reader.read(0, 100, 100).map((r) => r.body),
        ['{"n":1}', '{"n":2}'],
        'the failed append is read once a sync covered it (its sender retries; the processor drops the duplicate)',
      );
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it('syncs what is left when closing, with the real fdatasync', async () => {
    const file = path.join(tempDir(), 'log.sqlite');
    const writer = new SqliteEventLog(file, { backgroundSync: true });
    const appends = [1, 2, 3].map((n) => writer.append(entry(n)));
    await writer.close();
    assert.deepEqual(await Promise.all(appends), [1, 2, 3]);
    const reopened = new SqliteEventLog(file);
    try {
      assert.deepEqual(
        reopened.read(0, 100, 100).map((r) => r.body),
        ['{"n":1}', '{"n":2}', '{"n":3}'],
      );
    } finally {
      await reopened.close();
    }
  });
});
