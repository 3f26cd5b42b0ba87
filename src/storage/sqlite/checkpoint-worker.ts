/**
 * Entry point of the checkpoint thread (`checkpoint-thread.ts`): every `intervalMs`, one pass at a time,
 * `WalCheckpointer.runOnce` (a PASSIVE checkpoint of each file, and a RESTART of a long WAL all copied).
 * A failed pass is reported and the next one tried: the writers' own checkpoints still bound the WAL.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { CheckpointWorkerData, FromCheckpointWorker, ToCheckpointWorker } from './checkpoint-thread.ts';
import { WalCheckpointer } from './wal-checkpointer.ts';

const port = parentPort;
if (!port) throw new Error('checkpoint-worker.ts must run in a worker thread');
const { files, intervalMs } = workerData as CheckpointWorkerData;
const send = (msg: FromCheckpointWorker) => port.postMessage(msg);

try {
  const checkpointer = new WalCheckpointer(files);
  let timer: NodeJS.Timeout | undefined;
  const pass = () => {
    try {
      const passes = checkpointer.runOnce();
      if (passes.some((p) => p.newlyCopied > 0 || p.busy)) send({ kind: 'passes', passes });
    } catch (err) {
      send({ kind: 'error', message: (err as Error).message, stack: (err as Error).stack });
    }
    timer = setTimeout(pass, intervalMs);
  };
  port.on('message', (msg: ToCheckpointWorker) => {
    if (msg.kind !== 'stop') return;
    clearTimeout(timer);
    checkpointer.close();
    send({ kind: 'stopped' });
    port.close();
  });
  timer = setTimeout(pass, intervalMs);
  send({ kind: 'ready' });
} catch (err) {
  send({ kind: 'error', message: (err as Error).message, stack: (err as Error).stack });
  port.close();
}
