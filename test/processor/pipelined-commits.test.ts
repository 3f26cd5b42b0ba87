/**
 * With a store that commits in another process (PostgreSQL), the processor decodes and gates the next
 * micro-batch while the current one commits. Nothing may change for what is stored: every event once,
 * in log order, and a failed commit loses nothing (what was prepared after it is dropped and read again).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/config.ts';
import { SqliteEventLog } from '../../src/log/sqlite/sqlite-log.ts';
import type { EventGate } from '../../src/processor/event-gate.ts';
import { Processor, processorSettings } from '../../src/processor/processor.ts';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.ts';
import type { BatchTx } from '../../src/storage/store.ts';
import { tempDir } from '../support/harness.ts';
import { postgresTestUrl } from '../support/postgres.ts';

const T0 = Date.UTC(2026, 9, 1);
const drops: Array<() => Promise<void>> = [];
after(async () => {
  for (const drop of drops) await drop();
});

describe('pipelined commits (PostgreSQL)', () => {
  it('prepares the next batch while one commits; every event is stored once, in log order, across a failed commit', async (t) => {
    const pg = await postgresTestUrl();
    if (pg === null) return t.skip('PostgreSQL not reachable');
    drops.push(pg.drop);
    const dir = tempDir();
    const config = parseConfig({ TESSERA_DATA_DIR: dir });
    const store = new PostgresStore(pg.url);
    await store.migrate();
    const log = new SqliteEventLog(path.join(dir, 'log.sqlite'));
    let committing = 0;
    let preparedDuringCommit = 0;
    let failNext = false;
    const runBatch = store.runBatch.bind(store);
    store.runBatch = async <T>(work: (tx: BatchTx) => Promise<T>): Promise<T> => {
      committing++;
      try {
        return await runBatch(async (tx) => {
          const result = await work(tx);
          // Fail after the batch's writes, just before its commit: all of it must roll back.
          if (failNext) {
            failNext = false;
            throw new Error('connection lost');
          }
          return result;
        });
      } finally {
        committing--;
      }
    };
    // A gate that keeps everything, and notes whether it is asked about a batch while another commits.
    const gate: EventGate = {
      async refresh() {
        if (committing > 0) preparedDuringCommit++;
      },
      apply: (events) => ({ kept: [...events], dropped: {}, decisions: {} }),
    };
    const errors: unknown[] = [];
    const processor = new Processor({
      log,
      store,
      ...processorSettings(config),
      gate,
      now: () => T0,
      report: () => {},
      maxMessages: 20,
      onError: (err) => errors.push(err),
    });
    await processor.init();
    const sent: string[] = [];
    for (let r = 0; r < 12; r++) {
      const batch = Array.from({ length: 10 }, (_, i) => {
        const id = `m-${r}-${i}`;
        sent.push(id);
        return { type: 'track', userId: `u${(r * 10 + i) % 7}`, event: 'Clicked', messageId: id };
      });
      await log.append({ sourceId: 'src', receivedAt: T0, typeHint: null, shape: 'batch', body: JSON.stringify({ batch }), messages: 10 });
    }
    try {
      assert.ok((await processor.runOnce()) > 0);
      failNext = true;
      await assert.rejects(processor.runOnce(), /connection lost/);
      while ((await processor.runOnce()) > 0);
      assert.ok(preparedDuringCommit > 0, 'the next batch was decoded and gated while one committed');
      const stored = await store.listEvents({ limit: 1000 });
      const inSeqOrder = [...stored].sort((a, b) => a.seq - b.seq).map((e) => e.messageId);
      assert.deepEqual(inSeqOrder, sent, 'every event once, in log order');
      assert.deepEqual(errors, []);
    } finally {
      await processor.stop();
      await log.close();
      await store.close();
    }
  });
});
