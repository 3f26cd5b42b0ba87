/**
 * The processor alone (`bench/processor-alone.ts`, its own process): the identity scenario's demo batches
 * drained from a pre-filled log into a fresh store by one processor, nothing else running. The end-to-end
 * figure shares two cores between the edge, the processor, the audience runner, V8's helpers and the load
 * generator; this one shows the pipeline's own cost per event, for judging a change to it.
 */
import { PROCESSOR_YOUNG_GENERATION_MB } from '../../src/processor/processor-runner.ts';
import type { DemoSpec } from '../demo-traffic.ts';
import { dropBenchSchema } from './postgres-url.ts';
import { runJsonScript } from './processes.ts';

export interface ProcessorAloneFigures {
  events: number;
  perSec: number;
  /** CPU of the whole process per event (its one thread, where SQLite's own checkpoints run too, and V8's GC helpers), µs. */
  cpuUsPerEvent: number;
  /**
   * CPU of the processor's thread alone per event, µs (null off Linux): a change that only moves work to or
   * from V8's GC helpers shows in `cpuUsPerEvent`, not here, and here is what sets the pace end to end.
   */
  threadCpuUsPerEvent: number | null;
  /** Bytes the process handed to write(2) per event: SQLite's WAL and checkpoints, or what it sent PostgreSQL. */
  bytesWrittenPerEvent: number;
  /**
   * The store's write lock held per event, µs (after each batch's claim, to its commit). On PostgreSQL it
   * is the commit lock the processors of every node sharing the store take in turn: 1 s ÷ this bounds them.
   */
  lockUsPerEvent: number;
  /** On PostgreSQL, the database's own processes' CPU per event, µs (null on SQLite or when not visible here). */
  databaseCpuUsPerEvent: number | null;
}

export async function processorAlone(demo: DemoSpec, databaseUrl?: string): Promise<ProcessorAloneFigures> {
  try {
    // The young generation of the server's processor thread (a semi-space is a third of it).
    return await runJsonScript<ProcessorAloneFigures>(
      'bench/processor-alone.ts',
      [JSON.stringify(demo), ...(databaseUrl ? [databaseUrl] : [])],
      [`--max-semi-space-size=${PROCESSOR_YOUNG_GENERATION_MB / 3}`],
    );
  } finally {
    if (databaseUrl) await dropBenchSchema(databaseUrl);
  }
}
