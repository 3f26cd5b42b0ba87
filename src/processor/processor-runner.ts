/**
 * Where the processor runs. `worker` (the default) gives it its own thread, and so its own core:
 * the HTTP edge and the processor then never wait for each other. `inline` runs it on the main event
 * loop (simplest to debug); `off` runs none (an edge-only instance).
 */
import type { Worker } from 'node:worker_threads';
import { followWorker, startTsWorker } from '../threads/ts-worker.ts';
import type { Config } from '../config/config.ts';
import type { BatchReport, Processor } from './processor.ts';

export interface ProcessorRunner {
  /** Log position processed so far (as last reported). */
  readonly processedSeq: number;
  /** Log position whose processing survives power loss (as last reported): the log may forget up to it. */
  readonly durableSeq: number;
  /** Tell the processor that entries were appended. */
  notify(): void;
  /** Stop; with `drain`, first process what is already in the log (until `deadline`). */
  stop(options: { drain: boolean; deadline: number }): Promise<void>;
}

export class InlineRunner implements ProcessorRunner {
  constructor(private readonly processor: Processor) {
    processor.start();
  }
  get processedSeq() {
    return this.processor.processedSeq;
  }
  get durableSeq() {
    return this.processor.durableSeq;
  }
  notify() {
    this.processor.notify();
  }
  stop(options: { drain: boolean; deadline: number }) {
    return this.processor.stop(options);
  }
}

/** Messages between the main thread and the processor thread. */
export type ToWorker = { kind: 'notify' } | { kind: 'stop'; drain: boolean; deadline: number };
export type FromWorker =
  | { kind: 'ready'; processedSeq: number }
  | { kind: 'batch'; report: BatchReport }
  | { kind: 'error'; message: string; stack?: string }
  | { kind: 'stopped' };

/**
 * The processor thread's young generation: 192 MB, a 64 MB semi-space (V8's default here is 16 MB).
 * A micro-batch keeps thousands of parsed messages alive until it commits, so with the default most of
 * them were copied by scavenges and promoted before they died. The processor alone over the identity
 * scenario's 60,000 demo events, alternated four times: 72–76 µs an event against 85–99 with the default.
 * It costs at most ~100 MB more memory.
 */
export const PROCESSOR_YOUNG_GENERATION_MB = 192;

export interface WorkerData {
  config: Config;
  /** The embedded log's writer's `unsyncedFrom` cell: the processor reads only entries before it (durable ones). */
  unsyncedFrom?: SharedArrayBuffer;
}

export class WorkerRunner implements ProcessorRunner {
  private seq = 0;
  private durable = 0;
  private notified = false;
  private readonly worker: Worker;
  private readonly stopped: Promise<void>;

  private constructor(worker: Worker, initialSeq: number, onReport: (r: BatchReport) => void, onError: (e: Error) => void) {
    this.worker = worker;
    this.seq = initialSeq;
    this.stopped = followWorker<FromWorker>(
      worker,
      (msg) => {
        if (msg.kind !== 'batch') return;
        this.seq = msg.report.processedSeq;
        this.durable = msg.report.durableSeq;
        onReport(msg.report);
      },
      onError,
    );
  }

  static async start(data: WorkerData, onReport: (r: BatchReport) => void, onError: (e: Error) => void): Promise<WorkerRunner> {
    const { worker, ready } = await startTsWorker<{ kind: 'ready'; processedSeq: number }>(
      new URL('./processor-worker.ts', import.meta.url),
      data,
      'processor',
      { maxYoungGenerationSizeMb: PROCESSOR_YOUNG_GENERATION_MB },
    );
    const initialSeq = ready.processedSeq;
    return new WorkerRunner(worker, initialSeq, onReport, onError);
  }

  get processedSeq() {
    return this.seq;
  }

  get durableSeq() {
    return this.durable;
  }

  notify() {
    // Coalesce: one message per turn of the event loop is enough to wake the worker.
    if (this.notified) return;
    this.notified = true;
    setImmediate(() => {
      this.notified = false;
      this.worker.postMessage({ kind: 'notify' } satisfies ToWorker);
    });
  }

  async stop(options: { drain: boolean; deadline: number }) {
    this.worker.postMessage({ kind: 'stop', ...options } satisfies ToWorker);
    await this.stopped;
  }
}
