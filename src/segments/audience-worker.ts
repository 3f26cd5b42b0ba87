/**
 * Entry point of the audience thread: its own store connection and the audience runner. It gets a
 * thread of its own so that evaluating segments never delays the processor's micro-batches (nor they
 * the segments): the two meet only in the database, where the runner follows what the processor stored.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../storage/open-store.ts';
import { openSegmentStore } from '../storage/segments/open-segment-store.ts';
import { AudienceRunner } from './audience-runner.ts';
import type { AudienceWorkerData, FromAudienceWorker, ToAudienceWorker } from './audience-thread.ts';

const port = parentPort;
if (!port) throw new Error('audience-worker.ts must run in a worker thread');
const { config } = workerData as AudienceWorkerData;
const send = (msg: FromAudienceWorker) => port.postMessage(msg);

try {
  const store = await openStore(config.storage);
  const segmentStore = await openSegmentStore(store);
  const runner = new AudienceRunner({
    store: segmentStore,
    now: Date.now,
    onError: (err) => send({ kind: 'error', message: (err as Error).message, stack: (err as Error).stack }),
    onStep: (report) => send({ kind: 'step', report }),
  });
  port.on('message', (msg: ToAudienceWorker) => {
    if (msg.kind === 'notify') runner.notify();
    else if (msg.kind === 'stop') {
      void (async () => {
        await runner.stop();
        await segmentStore.close();
        await store.close();
        send({ kind: 'stopped' });
        port.close();
      })();
    }
  });
  runner.start();
  send({ kind: 'ready' });
} catch (err) {
  send({ kind: 'error', message: (err as Error).message, stack: (err as Error).stack });
  port.close();
}
