/**
 * Where the pipeline stands, for operators and scripts: how much the processor has yet to store, and how
 * much the audience runner has yet to evaluate, each with the age of its oldest item. The same figures
 * back the `tessera_pipeline_*` and `tessera_audience_backlog_*` gauges; this is the cheap way to ask for
 * them often (a data engineer's script waiting for an import to land, a test or the bench waiting for a
 * drain), where a `/metrics` scrape would also read every thread's `/proc` files and V8's heap.
 */
export interface Backlog {
  /** Items not yet processed: log messages (ingest) or stored events (audiences). */
  items: number;
  /** When the oldest of them was accepted (ms since the epoch); null when there are none. */
  oldestReceivedAt: number | null;
}

export interface PipelineStatusSources {
  /** The durable log's messages after the processor's position (the edge's view; synchronous). */
  ingest: () => { messages: number; oldestReceivedAt: number | null };
  /** Stored events the audience runner has not evaluated yet. */
  audiences: () => Promise<{ events: number; oldestReceivedAt: number | null }>;
  now: () => number;
}

export interface PipelineStatus {
  ingest: Backlog & { lagSeconds: number };
  audiences: Backlog & { lagSeconds: number };
}

/** Seconds since `oldest` was accepted; 0 when there is nothing waiting (for the status and the lag gauges). */
export const lagSeconds = (oldest: number | null, now: number): number => (oldest === null ? 0 : Math.max(0, (now - oldest) / 1000));

export async function pipelineStatus(sources: PipelineStatusSources): Promise<PipelineStatus> {
  const ingest = sources.ingest();
  const audiences = await sources.audiences();
  const now = sources.now();
  return {
    ingest: { items: ingest.messages, oldestReceivedAt: ingest.oldestReceivedAt, lagSeconds: lagSeconds(ingest.oldestReceivedAt, now) },
    audiences: {
      items: audiences.events,
      oldestReceivedAt: audiences.oldestReceivedAt,
      lagSeconds: lagSeconds(audiences.oldestReceivedAt, now),
    },
  };
}
