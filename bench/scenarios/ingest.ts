/**
 * Ingestion end to end: a real `tessera serve` process (fresh data), a separate load generator, then
 * wait until the processor has stored everything that was accepted.
 */
import { runLoad } from './processes.ts';
import { startServer } from './server.ts';

export interface IngestFigures {
  acceptedPerSec: number;
  sustainedPerSec: number;
  p50: number;
  p99: number;
  peakRssMb: number;
  backpressured: number;
}

export async function ingestScenario(opts: {
  seconds: number;
  connections: number;
  databaseUrl?: string;
  /** The durable log on a NATS JetStream stream instead of the embedded file. */
  natsLog?: boolean;
  /** Stop sending once this many events were accepted (bounds the wait for the processor). */
  maxEvents?: number;
}): Promise<IngestFigures> {
  const server = await startServer({ databaseUrl: opts.databaseUrl, natsLog: opts.natsLog });
  try {
    const writeKey = await server.createSource('bench');
    const t0 = Date.now();
    const load = await runLoad(server.url, writeKey, opts.seconds, opts.connections, opts.maxEvents);
    // Sustained rate: everything accepted, stored, over the whole time it took.
    const done = await server.drained();
    const stored = (await server.metrics()).tessera_processor_events_stored_total ?? 0;
    const sustainedPerSec = stored / ((done - t0) / 1000);
    return {
      acceptedPerSec: load.acceptedPerSec,
      sustainedPerSec,
      p50: load.p50,
      p99: load.p99,
      peakRssMb: server.peakRssMb(),
      backpressured: (load.statuses['429'] ?? 0) + (load.statuses['503'] ?? 0),
    };
  } finally {
    await server.stop();
  }
}
