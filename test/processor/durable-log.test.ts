/**
 * The store's commits on SQLite survive a process crash but not always power loss (WAL with
 * synchronous=NORMAL). The log therefore keeps entries until a sync covers them: the processor asks the
 * store to sync what is committed at most once a second (and when it goes idle or stops), one sync at a
 * time, while batches go on committing, and reports how far it is durable (`durableSeq`).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/config.ts';
import { SqliteEventLog } from '../../src/log/sqlite/sqlite-log.ts';
import { Processor, processorSettings, type BatchReport } from '../../src/processor/processor.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { tempDir } from '../support/harness.ts';

const T0 = Date.UTC(2026, 9, 1);

describe('durable log positions (SQLite)', () => {
  it('syncs at most once a second and one sync at a time, off the commits, and reports how far the store is durable', async () => {
    const dir = tempDir();
    const config = parseConfig({ TESSERA_DATA_DIR: dir });
    const store = new SqliteStore(path.join(dir, 'tessera.sqlite'));
    await store.migrate();
    const log = new SqliteEventLog(path.join(dir, 'log.sqlite'));
    // Each sync the processor asks for waits until the test lets it finish (then really syncs).
    const syncs: Array<{ release: () => void; done: Promise<void> }> = [];
    const syncCommitted = store.syncCommitted.bind(store);
    store.syncCommitted = () => {
      let release = () => {};
      const done = new Promise<void>((resolve) => (release = resolve)).then(syncCommitted);
      syncs.push({ release, done });
      return done;
    };
    const finishSync = async (k: number) => {
      syncs[k]!.release();
      await syncs[k]!.done;
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    };
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
    const last = () => [reports.at(-1)?.processedSeq, reports.at(-1)?.durableSeq];
    try {
      const a = await send('a');
      await processor.runOnce();
      assert.equal(syncs.length, 1, 'the first commit asks for a sync');
      assert.deepEqual(last(), [a, 0], 'committed, not yet durable: the sync runs after the commit, off it');
      now += 1000;
      const b = await send('b');
      await processor.runOnce();
      assert.equal(syncs.length, 1, 'a second later, but the first sync is still running: not a second one');
      assert.deepEqual(last(), [b, 0]);
      await finishSync(0);
      assert.equal(processor.durableSeq, a, 'durable up to what was committed when the sync began');
      now += 10;
      const c = await send('c');
      await processor.runOnce();
      assert.equal(syncs.length, 2, 'none running and a second since the last began: the next one');
      assert.deepEqual(last(), [c, a]);
      await finishSync(1);
      assert.equal(processor.durableSeq, c);
      now += 10;
      const d = await send('d');
      await processor.runOnce();
      assert.equal(syncs.length, 2, 'within a second of the last: none');
      assert.deepEqual(last(), [d, c]);
      const making = processor.makeDurable();
      await new Promise((r) => setImmediate(r));
      assert.equal(syncs.length, 3, 'made durable on demand (idle)');
      await finishSync(2);
      await making;
      assert.deepEqual(last(), [d, d]);
      await processor.makeDurable();
      assert.equal(syncs.length, 3, 'nothing to do when already durable');
      assert.equal(await store.countEvents(), 4);
    } finally {
      await log.close();
      await store.close();
    }
  });

  it("the store's sync syncs its WAL file, or the database file when there is none", async () => {
    const dir = tempDir();
    const file = path.join(dir, 'tessera.sqlite');
    const store = new SqliteStore(file);
    await store.migrate();
    const opened: string[] = [];
    const open = fs.promises.open;
    fs.promises.open = ((p: fs.PathLike, ...rest: never[]) => {
      opened.push(path.basename(String(p)));
      return (open as (...a: unknown[]) => Promise<fs.promises.FileHandle>)(p, ...rest);
    }) as typeof fs.promises.open;
    try {
      await store.syncCommitted();
      assert.deepEqual(opened, ['tessera.sqlite-wal']);
      fs.renameSync(`${file}-wal`, `${file}-wal.aside`);
      await store.syncCommitted();
      assert.deepEqual(opened, ['tessera.sqlite-wal', 'tessera.sqlite-wal', 'tessera.sqlite']);
      fs.renameSync(`${file}-wal.aside`, `${file}-wal`);
    } finally {
      fs.promises.open = open;
      await store.close();
    }
  });
});
