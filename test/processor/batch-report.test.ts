/**
 * What the processor tells about each micro-batch of events, for the `tessera_processor_batch_*`,
 * `tessera_processor_write_lock_duration_seconds` and `tessera_processor_commit_delay_seconds` metrics: its
 * size, the time it took, the part of it inside the store transaction (on PostgreSQL, the commit lock
 * held), and how long its oldest message waited between acceptance and commit (the store side of the ingest
 * round trip).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/config.ts';
import { SqliteEventLog } from '../../src/log/sqlite/sqlite-log.ts';
import { createMetrics, recordBatch } from '../../src/observability/metrics.ts';
import { Processor, processorSettings, type BatchReport } from '../../src/processor/processor.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { tempDir } from '../support/harness.ts';

const T0 = Date.UTC(2026, 10, 30);

describe('micro-batch reports', () => {
  it('give the messages taken, the time taken, its transaction, and the wait of the oldest message; a sync alone gives none', async () => {
    const dir = tempDir();
    const config = parseConfig({ TESSERA_DATA_DIR: dir });
    const store = new SqliteStore(path.join(dir, 'tessera.sqlite'));
    await store.migrate();
    const log = new SqliteEventLog(path.join(dir, 'log.sqlite'));
    let now = T0;
    const reports: BatchReport[] = [];
    // A claim of 20 ms and a wait of 40 ms for the write lock (as for PostgreSQL's commit lock while
    // another node holds it), then 30 ms of work holding it: the report counts the lock held, not the
    // claim or the wait, and all of them inside the batch's time.
    const runBatch = store.runBatch.bind(store);
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    store.runBatch = (work) =>
      runBatch(async (tx) => {
        const slowed = {
          ...tx,
          claim: async (...args: Parameters<typeof tx.claim>) => (await sleep(20), tx.claim(...args)),
          lock: async () => (await sleep(40), tx.lock()),
        };
        const result = await work(slowed);
        await sleep(30);
        return result;
      });
    const processor = new Processor({ log, store, ...processorSettings(config), now: () => now, report: (r) => reports.push(r) });
    await processor.init();
    const append = (receivedAt: number, batch: unknown[]) =>
      log.append({ sourceId: 'src', receivedAt, typeHint: null, shape: 'batch', body: JSON.stringify({ batch }), messages: batch.length });
    try {
      await append(T0, [
        { type: 'track', userId: 'u1', event: 'A', messageId: 'm1' },
        { type: 'track', userId: 'u1', event: 'A', messageId: 'm1' },
      ]);
      now = T0 + 100;
      await append(T0 + 100, [{ type: 'track', event: 'no identifier, no messageId' }]);
      now = T0 + 250;
      await processor.runOnce();
      const batch = reports.at(-1)!.batch;
      assert.ok(batch);
      assert.equal(batch.messages, 3, 'every message of its records: the duplicate and the invalid one too');
      assert.equal(batch.delayMs, 250, 'from the acceptance of its oldest record to the commit');
      assert.ok(batch.busyMs >= 0 && batch.busyMs < 60_000);
      assert.ok(batch.lockMs >= 29, `the lock was held at least 30 ms, not ${batch.lockMs}`);
      assert.ok(batch.busyMs - batch.lockMs >= 59, 'the claim and the wait for the lock are part of the batch');

      now += 10;
      await append(now, [{ type: 'track', userId: 'u2', event: 'B', messageId: 'm2' }]);
      await processor.runOnce(); // not synced: the first commit was, less than a second ago
      const before = reports.length;
      await processor.makeDurable();
      assert.equal(reports.length, before + 1);
      assert.equal(reports.at(-1)!.batch, undefined, 'a sync alone is not a micro-batch of events');

      const metrics = createMetrics(
        () => ({ messages: 0, oldestReceivedAt: null }),
        () => now,
        false,
      );
      recordBatch(metrics, reports[0]!);
      const delay = await metrics.registry.getSingleMetricAsString('tessera_processor_commit_delay_seconds');
      assert.match(delay, /^tessera_processor_commit_delay_seconds_sum 0\.25$/m);
      assert.match(delay, /^tessera_processor_commit_delay_seconds_count 1$/m);
      const transaction = await metrics.registry.getSingleMetricAsString('tessera_processor_write_lock_duration_seconds');
      assert.match(transaction, new RegExp(`^tessera_processor_write_lock_duration_seconds_sum ${batch.lockMs / 1000}$`, 'm'));
      assert.match(transaction, /^tessera_processor_write_lock_duration_seconds_count 1$/m);
      const size = await metrics.registry.getSingleMetricAsString('tessera_processor_batch_messages');
      assert.match(size, /^tessera_processor_batch_messages_sum 3$/m);
    } finally {
      await log.close();
      await store.close();
    }
  });
});
