/** Prometheus metrics, one registry per running instance (tests can build as many as they like). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { lagSeconds } from './pipeline-status.ts';
import { ThreadCpuSampler } from './thread-cpu.ts';

export interface Metrics {
  registry: Registry;
  /** Messages in requests answered 200 (made durable). */
  accepted: Counter<'source'>;
  /** Whole requests refused at the edge, by error code. */
  requestsRejected: Counter<'code'>;
  /** Messages refused (failed events), by reason. */
  rejected: Counter<'reason'>;
  deduplicated: Counter;
  eventsStored: Counter;
  /** Processor micro-batches of events: messages, time taken, and how long their oldest message waited. */
  batchMessages: Histogram;
  batchDuration: Histogram;
  batchDelay: Histogram;
  /** The part of a micro-batch holding the store's write lock (on PostgreSQL, the commit lock every node shares). */
  batchLock: Histogram;
  profilesCreated: Counter;
  profileMerges: Counter;
  /** Identity refusals and dropped identifiers, by warning code. */
  identityWarnings: Counter<'code'>;
  /** Events the collection gate dropped (suppressed subjects, policy drops), by reason. */
  gateDropped: Counter<'reason'>;
  /** Collection decisions on events (policy mode, purpose decisions, field rules), by decision. */
  gateDecisions: Counter<'decision'>;
  requestDuration: Histogram<'route'>;
  /** Real-time audience steps with work: time by phase (read, evaluate, lock_wait, write). */
  audienceStepDuration: Histogram<'phase'>;
  /** What the audience runner evaluated: stored events followed, due timers fired, profiles evaluated. */
  audienceEvents: Counter;
  audienceTimers: Counter;
  audienceProfiles: Counter;
  /** SQLite WAL checkpoints run off the writers' threads, per database file (`store`, `log`). */
  checkpointFrames: Counter<'database'>;
  checkpointDuration: Histogram<'database'>;
  walFrames: Gauge<'database'>;
}

/**
 * `tessera_thread_cpu_seconds_total{thread}` and `tessera_thread_run_queue_seconds_total{thread}`: the
 * process's CPU by thread, and how long its threads waited for a core, read at each scrape (`thread-cpu.ts`).
 */
function registerThreadCpu(registry: Registry, sampler: ThreadCpuSampler): void {
  const perThread = (name: string, help: string, read: () => Record<string, number> | null) => {
    const published: Record<string, number> = {};
    new Counter({
      name,
      help,
      labelNames: ['thread'],
      registers: [registry],
      collect() {
        const sample = read();
        if (sample === null) return;
        for (const [thread, seconds] of Object.entries(sample)) {
          // Counters never fall: a figure rounded a tick down (or a thread id reused) waits until it is passed.
          const delta = seconds - (published[thread] ?? 0);
          if (delta <= 0) continue;
          this.inc({ thread }, delta);
          published[thread] = seconds;
        }
      },
    });
  };
  perThread(
    'tessera_thread_cpu_seconds_total',
    'CPU time of this process by thread: main (event loop: HTTP edge, log appends, consent follower), processor, audience, checkpoint, other (GC and compiler helpers, libuv pool). Linux only.',
    () => sampler.sample(),
  );
  perThread(
    'tessera_thread_run_queue_seconds_total',
    'Time the threads of this process were ready to run but waited for a core (the run queue), by thread: main, processor, audience, checkpoint. Waiting while others run means the machine is short of cores. Linux only.',
    () => sampler.runQueue(),
  );
}

/** Record the checkpoint thread's passes (`WalCheckpointer`'s `CheckpointPass`). */
export function recordCheckpoints(
  metrics: Metrics,
  passes: ReadonlyArray<{ name: string; frames: number; newlyCopied: number; busy: boolean; ms: number }>,
): void {
  for (const p of passes) {
    metrics.walFrames.set({ database: p.name }, p.frames);
    if (p.newlyCopied === 0) continue;
    metrics.checkpointFrames.inc({ database: p.name }, p.newlyCopied);
    metrics.checkpointDuration.observe({ database: p.name }, p.ms / 1000);
  }
}

/** Count what one real-time audience step did (`AudienceRunner`'s `StepReport`). */
export function recordAudienceStep(
  metrics: Metrics,
  report: {
    events: number;
    timers: number;
    profiles: number;
    phases?: { read: number; evaluate: number; lockWait: number; write: number };
  },
): void {
  metrics.audienceEvents.inc(report.events);
  metrics.audienceTimers.inc(report.timers);
  metrics.audienceProfiles.inc(report.profiles);
  const p = report.phases;
  if (!p) return;
  metrics.audienceStepDuration.observe({ phase: 'read' }, p.read / 1000);
  metrics.audienceStepDuration.observe({ phase: 'evaluate' }, p.evaluate / 1000);
  metrics.audienceStepDuration.observe({ phase: 'lock_wait' }, p.lockWait / 1000);
  metrics.audienceStepDuration.observe({ phase: 'write' }, p.write / 1000);
}

/** Count what one processor micro-batch did. */
export function recordBatch(
  metrics: Metrics,
  report: {
    stored: number;
    duplicates: number;
    failedByReason: Record<string, number>;
    identity?: { profilesCreated: number; merges: number; warnings: Record<string, number> };
    gateDropped?: Record<string, number>;
    gateDecisions?: Record<string, number>;
    batch?: { messages: number; busyMs: number; delayMs: number; lockMs: number };
  },
): void {
  if (report.batch) {
    metrics.batchMessages.observe(report.batch.messages);
    metrics.batchDuration.observe(report.batch.busyMs / 1000);
    metrics.batchDelay.observe(report.batch.delayMs / 1000);
    metrics.batchLock.observe(report.batch.lockMs / 1000);
  }
  for (const [reason, n] of Object.entries(report.gateDropped ?? {})) metrics.gateDropped.inc({ reason }, n);
  for (const [decision, n] of Object.entries(report.gateDecisions ?? {})) metrics.gateDecisions.inc({ decision }, n);
  metrics.eventsStored.inc(report.stored);
  if (report.identity) {
    metrics.profilesCreated.inc(report.identity.profilesCreated);
    metrics.profileMerges.inc(report.identity.merges);
    for (const [code, n] of Object.entries(report.identity.warnings)) metrics.identityWarnings.inc({ code }, n);
  }
  metrics.deduplicated.inc(report.duplicates);
  for (const [reason, n] of Object.entries(report.failedByReason)) metrics.rejected.inc({ reason }, n);
}

export function createMetrics(
  backlog: () => { messages: number; oldestReceivedAt: number | null },
  now: () => number,
  withDefaults = true,
  /** Where the audience runner stands against the stored events (read from the database at each scrape). */
  audienceBacklog?: () => Promise<{ events: number; oldestReceivedAt: number | null }>,
  /** The NATS log's keys as its shredder last saw them (null: no NATS log, or this instance does not shred). */
  logKeys?: () => { keys: number; oldestAgeSeconds: number; shredded: number } | null,
  /** The worker threads running now, for the process's CPU by thread (published with the defaults). */
  workerThreads?: () => Iterable<{ role: string; osThreadId: number }>,
): Metrics {
  const registry = new Registry();
  if (withDefaults) collectDefaultMetrics({ register: registry, prefix: 'tessera_' });
  if (withDefaults && workerThreads) registerThreadCpu(registry, new ThreadCpuSampler(workerThreads));
  const metrics: Metrics = {
    registry,
    accepted: new Counter({
      name: 'tessera_ingest_accepted_messages_total',
      help: 'Messages in requests answered 200 (durably accepted).',
      labelNames: ['source'],
      registers: [registry],
    }),
    requestsRejected: new Counter({
      name: 'tessera_ingest_rejected_requests_total',
      help: 'Ingestion requests refused, by error code.',
      labelNames: ['code'],
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'tessera_ingest_rejected_messages_total',
      help: 'Messages that went to failed events, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    deduplicated: new Counter({
      name: 'tessera_ingest_deduplicated_messages_total',
      help: 'Messages dropped as duplicates of a (source, messageId) already seen.',
      registers: [registry],
    }),
    eventsStored: new Counter({
      name: 'tessera_processor_events_stored_total',
      help: 'Events written to the event store by the processor.',
      registers: [registry],
    }),
    batchMessages: new Histogram({
      name: 'tessera_processor_batch_messages',
      help: 'Messages per processor micro-batch of events.',
      buckets: [1, 10, 100, 250, 500, 1000, 2500, 5000],
      registers: [registry],
    }),
    batchDuration: new Histogram({
      name: 'tessera_processor_batch_duration_seconds',
      help: 'Time a processor micro-batch of events took, from taking it to its commit.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    batchLock: new Histogram({
      name: 'tessera_processor_write_lock_duration_seconds',
      help:
        "Time a processor micro-batch of events held the store's write lock, from taking it (after its de-duplication " +
        'claim; any wait for it excluded) to its commit. On PostgreSQL it is the commit lock that the processors of every ' +
        'node sharing the store take in turn: together they cannot hold it more than one second per second.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    batchDelay: new Histogram({
      name: 'tessera_processor_commit_delay_seconds',
      help: 'From the acceptance of the oldest message of a micro-batch to its commit: the store side of the ingest round trip.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    profilesCreated: new Counter({ name: 'tessera_identity_profiles_created_total', help: 'Profiles created.', registers: [registry] }),
    profileMerges: new Counter({ name: 'tessera_identity_merges_total', help: 'Profiles absorbed by merges.', registers: [registry] }),
    identityWarnings: new Counter({
      name: 'tessera_identity_warnings_total',
      help: 'Identifiers not used and links refused, by reason.',
      labelNames: ['code'],
      registers: [registry],
    }),
    gateDropped: new Counter({
      name: 'tessera_privacy_gate_dropped_events_total',
      help: 'Events dropped by the collection gate (the edge answered 200), by reason: suppressed, policy_drop.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    gateDecisions: new Counter({
      name: 'tessera_privacy_gate_decisions_total',
      help: 'Collection decisions on events, by decision (mode:<mode>, purpose:<id>:<reason>, remove:/hash:/anonymise:<path>).',
      labelNames: ['decision'],
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'tessera_http_request_duration_seconds',
      help: 'Request latency by route.',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    audienceStepDuration: new Histogram({
      name: 'tessera_audience_step_duration_seconds',
      help: 'Real-time audience steps (those with work), by phase: read (snapshot), evaluate, lock_wait (for the write lock), write (commit included).',
      labelNames: ['phase'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    audienceEvents: new Counter({
      name: 'tessera_audience_events_total',
      help: 'Stored events the audience runner has followed.',
      registers: [registry],
    }),
    audienceTimers: new Counter({
      name: 'tessera_audience_timers_fired_total',
      help: 'Due audience timers (window exits, absences, relative dates) the runner has taken.',
      registers: [registry],
    }),
    audienceProfiles: new Counter({
      name: 'tessera_audience_profiles_evaluated_total',
      help: 'Profile evaluations written by real-time audience steps.',
      registers: [registry],
    }),
    checkpointFrames: new Counter({
      name: 'tessera_sqlite_checkpoint_frames_total',
      help: 'WAL frames (pages) copied into the database file by checkpoints, by database (store, log).',
      labelNames: ['database'],
      registers: [registry],
    }),
    checkpointDuration: new Histogram({
      name: 'tessera_sqlite_checkpoint_duration_seconds',
      help: "Background WAL checkpoints that copied frames, by database: each one's time (copy and syncs), off the writers' threads.",
      labelNames: ['database'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    walFrames: new Gauge({
      name: 'tessera_sqlite_wal_frames',
      help: 'Frames in the WAL at the last background checkpoint, by database (it restarts from zero once all are copied).',
      labelNames: ['database'],
      registers: [registry],
    }),
  };
  new Gauge({
    name: 'tessera_pipeline_backlog_messages',
    help: 'Messages durably accepted but not yet processed.',
    registers: [registry],
    collect() {
      this.set(backlog().messages);
    },
  });
  if (audienceBacklog) {
    // One read serves both gauges of a scrape.
    let pending: Promise<{ events: number; oldestReceivedAt: number | null } | null> | null = null;
    const read = () =>
      (pending ??= audienceBacklog()
        .catch(() => null)
        .finally(() => setImmediate(() => (pending = null))));
    new Gauge({
      name: 'tessera_audience_backlog_events',
      help: 'Stored events the audience runner has not evaluated yet (seqs after its cursor; NaN when the store cannot tell).',
      registers: [registry],
      async collect() {
        const b = await read();
        this.set(b === null ? Number.NaN : b.events);
      },
    });
    new Gauge({
      name: 'tessera_audience_lag_seconds',
      help: 'Age of the oldest stored event the audience runner has not evaluated yet (0 when caught up): how stale segments and computed traits can be.',
      registers: [registry],
      async collect() {
        const b = await read();
        this.set(b === null ? Number.NaN : lagSeconds(b.oldestReceivedAt, now()));
      },
    });
  }
  if (logKeys) {
    new Gauge({
      name: 'tessera_log_keys',
      help: "Keys sealing the NATS log's entries still in the store (in use, or waiting for their entries to be purged); NaN where this instance does not shred.",
      registers: [registry],
      collect() {
        this.set(logKeys()?.keys ?? Number.NaN);
      },
    });
    new Gauge({
      name: 'tessera_log_keys_oldest_age_seconds',
      help: 'Age of the oldest key still sealing NATS log entries: past a rotation, the slack and the pipeline lag, keys are not being shredded.',
      registers: [registry],
      collect() {
        this.set(logKeys()?.oldestAgeSeconds ?? Number.NaN);
      },
    });
    let reported = 0;
    new Counter({
      name: 'tessera_log_keys_shredded_total',
      help: 'Keys sealing NATS log entries deleted by this instance once their entries were purged (crypto-shredding).',
      registers: [registry],
      collect() {
        const now = logKeys()?.shredded ?? reported;
        if (now > reported) this.inc(now - reported);
        reported = now;
      },
    });
  }
  new Gauge({
    name: 'tessera_pipeline_lag_seconds',
    help: 'Age of the oldest unprocessed message (0 when caught up).',
    registers: [registry],
    collect() {
      this.set(lagSeconds(backlog().oldestReceivedAt, now()));
    },
  });
  return metrics;
}
