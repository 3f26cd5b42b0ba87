/**
 * The WAL checkpointer's thread (`wal-checkpointer.ts`; entry `checkpoint-worker.ts`): a connection to
 * each file and a timer, nothing else. The main thread starts it beside the processor's and the audience
 * runner's, hears what each pass copied (for `/metrics`) and stops it.
 */
import type { Worker } from 'node:worker_threads';
import { followWorker, startTsWorker } from '../../threads/ts-worker.ts';
import type { CheckpointPass, WalFile } from './wal-checkpointer.ts';

export interface CheckpointWorkerData {
  files: WalFile[];
  intervalMs: number;
}

export type ToCheckpointWorker = { kind: 'stop' };
export type FromCheckpointWorker =
  | { kind: 'ready' }
  | { kind: 'passes'; passes: CheckpointPass[] }
  | { kind: 'error'; message: string; stack?: string }
  | { kind: 'stopped' };

export class CheckpointThread {
  private readonly stopped: Promise<void>;

  private constructor(
    private readonly worker: Worker,
    onPasses: (passes: CheckpointPass[]) => void,
    onError: (e: Error) => void,
  ) {
    this.stopped = followWorker<FromCheckpointWorker>(
      worker,
      (msg) => {
        if (msg.kind === 'passes') onPasses(msg.passes);
      },
      onError,
    );
  }

  static async start(
    data: CheckpointWorkerData,
    onPasses: (passes: CheckpointPass[]) => void,
    onError: (e: Error) => void,
  ): Promise<CheckpointThread> {
    const { worker } = await startTsWorker(new URL('./checkpoint-worker.ts', import.meta.url), data, 'checkpoint');
    return new CheckpointThread(worker, onPasses, onError);
  }

  async stop(): Promise<void> {
    this.worker.postMessage({ kind: 'stop' } satisfies ToCheckpointWorker);
    await this.stopped;
  }
}
