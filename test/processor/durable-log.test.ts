/**
 * The store's commits on SQLite survive a process crash but not always power loss (WAL with
 * synchronous=NORMAL). The log therefore keeps entries until a synced commit covers them: the processor
 * syncs one batch commit a second (and when it goes idle or stops) and reports `durableSeq`.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/config.ts';
import { SqliteEventLog } from '../../src/log/sqlite/sqlite-log.ts';
import { Processor, processorSettings, type BatchReport } from '../../src/processor/processor.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { tempDir } from '../support/harness.ts';

const T0 = Date.UTC(2026, 9, 1);

describe('durable log positions (SQLite)', () => {
  it('syncs at most one commit a second, reports how far the store is durable, and syncs when idle or stopping', async () => {
    const dir = tempDir();
    const config = parseConfig({ TESSERA_DATA_DIR: dir });
    const store = new SqliteStore(path.join(dir, 'tessera.sqlite'));
    await store.migrate();
    const log = new SqliteEventLog(path.join(dir, 'log.sqlite'));
    // Which synchronous level each batch committed under (2 = FULL, 1 = NORMAL).
    const levels: number[] = [];
    const runBatch = store.runBatch.bind(store);
    store.runBatch = (work, options) =>
      runBatch(async (tx) => {
        levels.push(store.db.pragma('synchronous', { simple: true }) as number);
        return work(tx);
      }, options);
    let now = T0;
    const reports: BatchReport[] = [];
    const processor = new Processor({ log, store, ...processorSettings(config), now: () => now, report: (r) => reports.push(r) });
    await processor.init();
    const send = (event: string) =>
      log.append({
        sourceId: 'src',
        receivedAt: now,
        typeHint: null,
        shape: 'batch',
        body: JSON.stringify({ batch: [{ type: 'track', userId: 'u1', event, messageId: `m-${event}` }] }),
        messages: 1,
      });
    try {
      const first = await send('a');
      await processor.runOnce();
      assert.deepEqual([reports.at(-1)?.processedSeq, reports.at(-1)?.durableSeq], [first, first], 'the first commit is synced');
      now += 10;
      const second = await send('b');
      await processor.runOnce();
      assert.deepEqual([reports.at(-1)?.processedSeq, reports.at(-1)?.durableSeq], [second, first], 'not again within the second');
      now += 1000;
      const third = await send('c');
      await processor.runOnce();
      assert.equal(reports.at(-1)?.durableSeq, third, 'a second later, the next commit is synced');
      now += 10;
      const fourth = await send('d');
      await processor.runOnce();
      assert.equal(processor.durableSeq, third);
      await processor.makeDurable();
      assert.deepEqual([reports.at(-1)?.processedSeq, reports.at(-1)?.durableSeq], [fourth, fourth], 'made durable on demand (idle)');
      assert.deepEqual(levels, [2, 1, 2, 1, 2], 'synced commits run with synchronous=FULL, the others with NORMAL');
      assert.equal(store.db.pragma('synchronous', { simple: true }), 1, 'back to NORMAL');
      await processor.makeDurable();
      assert.equal(levels.length, 5, 'nothing to do when already durable');
      assert.equal(await store.countEvents(), 4);
    } finally {
      await log.close();
      await store.close();
    }
  });
});
