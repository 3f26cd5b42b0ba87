/**
 * Where the audience runner runs. With the processor in its own thread (the default), the runner gets
 * a thread too (`AudienceThread`, entry `audience-worker.ts`); with an inline processor it runs on the
 * main event loop (`AudienceRunner` itself). Either way the main thread only tells it that something
 * happened (a batch was committed, a definition changed) and stops it.
 */
import type { Worker } from 'node:worker_threads';
import type { Config } from '../config/config.ts';
import { followWorker, startTsWorker } from '../threads/ts-worker.ts';
import type { StepReport } from './audience-runner.ts';

export interface AudienceFollower {
  /** Something happened (a committed batch, a changed definition): run soon. */
  notify(): void;
  stop(): Promise<void>;
}

export type ToAudienceWorker = { kind: 'notify' } | { kind: 'stop' };
export type FromAudienceWorker =
  { kind: 'ready' } | { kind: 'step'; report: StepReport } | { kind: 'error'; message: string; stack?: string } | { kind: 'stopped' };

export interface AudienceWorkerData {
  config: Config;
}

export class AudienceThread implements AudienceFollower {
  private notified = false;
  private readonly stopped: Promise<void>;

  private constructor(
    private readonly worker: Worker,
    onError: (e: Error) => void,
    onStep: (report: StepReport) => void,
  ) {
    this.stopped = followWorker<FromAudienceWorker>(
      worker,
      (msg) => {
        if (msg.kind === 'step') onStep(msg.report);
      },
      onError,
    );
  }

  static async start(data: AudienceWorkerData, onError: (e: Error) => void, onStep: (report: StepReport) => void): Promise<AudienceThread> {
    const { worker } = await startTsWorker(new URL('./audience-worker.ts', import.meta.url), data, 'audience');
    return new AudienceThread(worker, onError, onStep);
  }

  notify(): void {
    // Coalesce: one message per turn of the event loop is enough to wake the runner.
    if (this.notified) return;
    this.notified = true;
    setImmediate(() => {
      this.notified = false;
      this.worker.postMessage({ kind: 'notify' } satisfies ToAudienceWorker);
    });
  }

  async stop(): Promise<void> {
    this.worker.postMessage({ kind: 'stop' } satisfies ToAudienceWorker);
    await this.stopped;
  }
}
