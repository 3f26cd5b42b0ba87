/**
 * The processor alone, in its own process: the demo batches the identity scenario sends are appended to
 * a fresh embedded log first (not timed), then one `Processor` with the server's collection gate drains
 * it into the store, as the server's processor thread does, but with no HTTP edge, load generator or
 * audience runner sharing the cores. It isolates the pipeline's own cost per event (decoding, the gate,
 * identity, the store's writes and commits) from the machine's other work, so a change to the processor
 * can be judged on far less noise than the end-to-end figure.
 *
 * Usage: node --max-semi-space-size=… --import tsx bench/processor-alone.ts '<DemoSpec JSON>' [databaseUrl]
 * → one JSON line. The young generation should match the processor thread's (`scenarios/processor.ts`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withStore } from '../src/cli/context.ts';
import { parseConfig } from '../src/config/config.ts';
import { openClientLog } from '../src/log/open-log.ts';
import { threadCpuSeconds } from '../src/observability/thread-cpu.ts';
import { createPrivacyGate } from '../src/privacy/gate-factory.ts';
import { Processor, processorSettings, type BatchReport } from '../src/processor/processor.ts';
import { SourceService } from '../src/sources/source-service.ts';
import { demoBodies, type DemoSpec } from './demo-traffic.ts';
import { cpuSecondsOfProcesses } from './scenarios/processes.ts';

const spec = JSON.parse(process.argv[2] ?? '{}') as DemoSpec;
const databaseUrl = process.argv[3];
const bodies = demoBodies(spec);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-processor-'));

/** Bytes this process has handed to write(2) so far: files (WAL, checkpoints) and sockets (PostgreSQL). */
function bytesWritten(): number {
  return Number(/^wchar: (\d+)$/m.exec(fs.readFileSync('/proc/self/io', 'utf8'))?.[1] ?? Number.NaN);
}

try {
  const config = parseConfig({ TESSERA_DATA_DIR: dataDir, ...(databaseUrl ? { TESSERA_DATABASE_URL: databaseUrl } : {}) }, {});
  await withStore(config, async (store) => {
    const sources = new SourceService(store, Date.now);
    await sources.reload();
    const source = await sources.create('bench-demo');
    const { log, follow } = await openClientLog(config.log, store);
    try {
      let events = 0;
      for (let i = 0; i < bodies.length; i += 64) {
        // Appends made in the same turn share one durable commit, as the edge's do.
        const chunk = bodies.slice(i, i + 64);
        await Promise.all(
          chunk.map((body) => {
            const messages = (JSON.parse(body) as { batch: unknown[] }).batch.length;
            events += messages;
            return log.append({ sourceId: source.id, receivedAt: Date.now(), typeHint: null, shape: 'batch', body, messages });
          }),
        );
      }
      const head = log.headSeq();
      const gate = await createPrivacyGate(store, config, Date.now);
      // The store's write lock held (on PostgreSQL, the commit lock every node takes in turn), from the batch reports.
      let lockMs = 0;
      const report = (r: BatchReport) => (lockMs += r.batch?.lockMs ?? 0);
      const processor = new Processor({ log, store, ...processorSettings(config), gate, now: Date.now, report });
      await processor.init();
      follow(processor.processedSeq);

      const written0 = bytesWritten();
      const cpu0 = process.cpuUsage();
      // The processor's own thread (on Linux the main thread's id is the process id), SQLite's checkpoints
      // included (they run inside its commits here); the rest of the process's CPU is V8's GC helpers.
      const thread0 = threadCpuSeconds(process.pid);
      // On PostgreSQL, the database's own processes: the other half of the processor's cost.
      const database0 = databaseUrl ? cpuSecondsOfProcesses('postgres') : null;
      lockMs = 0;
      const t0 = performance.now();
      while (processor.processedSeq < head) if ((await processor.runOnce()) === 0) await new Promise((r) => setTimeout(r, 5));
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const thread1 = threadCpuSeconds(process.pid);
      const database1 = databaseUrl ? cpuSecondsOfProcesses('postgres') : null;
      const written = bytesWritten() - written0;
      const stored = await store.countEvents();
      if (stored !== events) throw new Error(`the processor stored ${stored} of ${events} events`);
      process.stdout.write(
        `${JSON.stringify({
          events,
          perSec: events / (ms / 1000),
          cpuUsPerEvent: (cpu.user + cpu.system) / events,
          threadCpuUsPerEvent: thread0 === null || thread1 === null ? null : ((thread1 - thread0) * 1e6) / events,
          bytesWrittenPerEvent: written / events,
          lockUsPerEvent: (lockMs * 1000) / events,
          databaseCpuUsPerEvent: database0 === null || database1 === null ? null : ((database1 - database0) * 1e6) / events,
        })}\n`,
      );
    } finally {
      await log.close();
    }
  });
} finally {
  fs.rmSync(dataDir, { recursive: true, force: true });
}
