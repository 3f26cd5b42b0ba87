/** Entry point of the processor thread: builds its own store and log connections and runs the processor. */
import { parentPort, workerData } from 'node:worker_threads';
import { openReaderLog } from '../log/open-log.ts';
import { openStore } from '../storage/open-store.ts';
import { createPrivacyGate } from '../privacy/gate-factory.ts';
import { Processor, processorSettings } from './processor.ts';
import type { FromWorker, ToWorker, WorkerData } from './processor-runner.ts';

const port = parentPort;
if (!port) throw new Error('processor-worker.ts must run in a worker thread');
const { config, unsyncedFrom } = workerData as WorkerData;
const send = (msg: FromWorker) => port.postMessage(msg);

try {
  const store = await openStore(config.storage);
  const reader = await openReaderLog(config.log, store, {
    unsyncedFrom,
    onError: (err) => send({ kind: 'error', message: `durable log: ${(err as Error).message}` }),
  });
  const log = reader.log;
  const processor = new Processor({
    log,
    store,
    ...processorSettings(config),
    gate: await createPrivacyGate(store, config, Date.now, (err) =>
      send({ kind: 'error', message: `collection gate: ${(err as Error).message}` }),
    ),
    now: Date.now,
    report: (report) => send({ kind: 'batch', report }),
    onError: (err) => send({ kind: 'error', message: (err as Error).message, stack: (err as Error).stack }),
  });
  await processor.init();
  log.onAppend(() => processor.notify());
  reader.start(processor.processedSeq);
  port.on('message', (msg: ToWorker) => {
    if (msg.kind === 'notify') processor.notify();
    else if (msg.kind === 'stop') {
      void (async () => {
        await processor.stop({ drain: msg.drain, deadline: msg.deadline });
        await log.close();
        await store.close();
        send({ kind: 'stopped' });
        port.close();
      })();
    }
  });
  processor.start();
  send({ kind: 'ready', processedSeq: processor.processedSeq });
} catch (err) {
  send({ kind: 'error', message: (err as Error).message, stack: (err as Error).stack });
  port.close();
}
