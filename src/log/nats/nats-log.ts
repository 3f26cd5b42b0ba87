/**
 * The durable log on NATS JetStream, for installations whose edges run on several machines: every edge
 * appends to one stream, and the processor reads it in order, wherever it runs.
 *
 * - **Append** publishes the request body with its metadata in headers and resolves with the stream
 *   sequence once JetStream has acknowledged it (stored; on a cluster, by a majority of `replicas`). A
 *   publish that gets no answer is sent again with the same message id, which the stream's duplicate
 *   window turns into the first one's acknowledgement: a retry never appends twice.
 * - **Back-pressure across edges**: the stream has a size cap and refuses new entries past it
 *   (`discard: new`); the edge answers those requests 503 + Retry-After. The processor's node purges what
 *   it has processed durably (`truncate`), so the stream holds the backlog and little else.
 * - **Reading** (`follow`) pulls through an ephemeral consumer (no acknowledgements) from the processor's
 *   cursor into a bounded buffer, only as far as the buffer has room (a backlog stays in the stream);
 *   `read` answers from that buffer synchronously, as the port wants, and entries stay readable until
 *   `release` (a micro-batch that failed is read again). The cursor stays in the store, committed with
 *   the data, so processing stays exactly once whatever NATS redelivers.
 *
 * One processor works a stream at a time: others on the same stream stand by (each batch moves the cursor
 * only from where it started: `ProcessedBatch.cursorFrom`). More processors run on more streams
 * (`TESSERA_NATS_STREAM`), each with its own cursor; PostgreSQL keeps identity consistent between them.
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type StreamConfig,
} from '@nats-io/jetstream';
import { connect, headers, nanos, type NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import type { LogBackend } from '../../config/config.ts';
import { TesseraError } from '../../core/errors/catalogue.ts';
import type { EventType } from '../../core/event/event.ts';
import type { EventLog, LogEntry, LogRecord } from '../event-log.ts';

export type NatsLogSettings = Extract<LogBackend, { kind: 'nats' }>;

/** The stream's one subject. */
export const subjectOf = (stream: string) => `tessera.log.${stream}`;

const HEADER = {
  source: 'Tessera-Source',
  receivedAt: 'Tessera-Received-At',
  typeHint: 'Tessera-Type-Hint',
  shape: 'Tessera-Shape',
  messages: 'Tessera-Messages',
} as const;

/** How long an append waits for JetStream's acknowledgement, per try, and how many tries it makes. */
const PUBLISH_TIMEOUT_MS = 5_000;
const PUBLISH_TRIES = 3;
/** JetStream's refusals of a stream at its cap: maximum messages, maximum bytes. */
const STREAM_FULL = new Set([10076, 10077]);
/** Room kept in a NATS message for the headers beside the body. */
const HEADER_ROOM = 1024;
/** The stream's duplicate window: a re-sent append within it is recognised (ns). */
const DUPLICATE_WINDOW_NS = 120 * 1_000_000_000;
/**
 * The reader's buffer holds about this many bytes of entries: it pulls while it holds less than half,
 * about `FETCH_BYTES` at a time (at most `FETCH_MAX_ENTRIES` entries), judged by the mean entry so far.
 */
export const READER_BUFFER_BYTES = 32 * 1024 * 1024;
const FETCH_BYTES = 2 * 1024 * 1024;
const FETCH_MAX_ENTRIES = 1_000;
const FETCH_WAIT_MS = 5_000;
/** The reader's consumer is removed by the server after this long unused (the reader gone, or paused that long). */
const CONSUMER_IDLE_MS = 120_000;
/** How often the stream's state (first and last seq) is asked for, for `backlog`. */
const STATE_EVERY_MS = 500;

interface Waiter {
  resolve: () => void;
}

export class NatsEventLog implements EventLog {
  private readonly listeners: Array<() => void> = [];
  /** The highest seq this instance has seen appended (its own acknowledgements, the stream's state, the consumer). */
  private head = 0;
  private state = { firstSeq: 1, lastSeq: 0 };
  /** The furthest processor position `backlog` was asked about, and the first entry after it (for the lag). */
  private processedAsked = 0;
  private oldest: { seq: number; receivedAt: number } | null = null;
  private stateTimer: NodeJS.Timeout | null = null;
  /** Mean messages per appended entry (this edge's appends, or what the reader saw): turns records into messages. */
  private entries = 0;
  private messagesSeen = 0;
  private bytesSeen = 0;
  private purging: Promise<void> | null = null;
  private purgedUpTo = 0;
  private wantPurgeUpTo = 0;
  private closed = false;
  /** Connected to a server: while the client reconnects, appends are refused at once rather than after their timeouts. */
  private connected = true;
  // Reader side.
  private following = false;
  private buffer: LogRecord[] = [];
  private bufferedBytes = 0;
  private releasedUpTo = 0;
  private consumer: ConsumerMessages | null = null;
  private consumerName: string | null = null;
  private generation = 0;
  private space: Waiter | null = null;
  private pumping: Promise<void> | null = null;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly settings: NatsLogSettings,
    readonly logId: string,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Connect and make sure the stream exists as configured (created on first use). */
  static async open(settings: NatsLogSettings, opts: { name: string; onError?: (err: unknown) => void }): Promise<NatsEventLog> {
    const nc = await connect({
      servers: settings.servers,
      name: opts.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      // No stack captured for every request in case it fails: that was ~2% of the edge's thread.
      noAsyncTraces: true,
      ...(settings.auth ?? {}),
      ...(settings.tls ? { tls: settings.tls } : {}),
    });
    try {
      const jsm = await jetstreamManager(nc);
      const created = await ensureStream(jsm, settings);
      const log = new NatsEventLog(nc, jetstream(nc), jsm, settings, `nats:${settings.stream}:${created}`, opts.onError ?? (() => {}));
      await log.refreshState();
      log.stateTimer = setInterval(() => void log.refreshState().catch((err: unknown) => log.sayOnce('state', err)), STATE_EVERY_MS);
      log.stateTimer.unref();
      void log.watchConnection();
      return log;
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  private get subject(): string {
    return subjectOf(this.settings.stream);
  }

  private async watchConnection(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') this.connected = false;
      else if (s.type === 'reconnect') this.connected = true;
    }
  }

  async append(entry: LogEntry): Promise<number> {
    if (this.closed) throw new TesseraError('shutting_down', 'the durable log is closed');
    if (!this.connected) throw new TesseraError('log_unavailable', 'the durable log (NATS JetStream) is not reachable; retry later', 2);
    const limit = this.nc.info?.max_payload;
    const bytes = Buffer.byteLength(entry.body);
    if (limit !== undefined && bytes > limit - HEADER_ROOM) {
      throw new TesseraError(
        'payload_too_large',
        `the body is ${bytes} bytes; the durable log (NATS) takes at most ${limit - HEADER_ROOM} per request`,
      );
    }
    const h = headers();
    h.set(HEADER.source, entry.sourceId);
    h.set(HEADER.receivedAt, String(entry.receivedAt));
    h.set(HEADER.shape, entry.shape);
    h.set(HEADER.messages, String(entry.messages));
    if (entry.typeHint !== null) h.set(HEADER.typeHint, entry.typeHint);
    const msgID = randomUUID();
    for (let attempt = 1; ; attempt++) {
      try {
        const ack = await this.js.publish(this.subject, entry.body, { headers: h, msgID, timeout: PUBLISH_TIMEOUT_MS });
        this.seen(entry.messages, entry.body.length);
        if (ack.seq > this.head) this.head = ack.seq;
        for (const l of this.listeners) l();
        return ack.seq;
      } catch (err) {
        if (err instanceof JetStreamApiError && STREAM_FULL.has(err.code)) {
          throw new TesseraError('overloaded', 'the durable log is full (its NATS stream is at its size cap); retry later', 2);
        }
        if (attempt >= PUBLISH_TRIES || this.closed || !this.connected) {
          this.sayOnce('append', err);
          throw new TesseraError('log_unavailable', 'the durable log (NATS JetStream) did not acknowledge the request; retry later', 2);
        }
      }
    }
  }

  private seen(messages: number, bytes: number): void {
    if (messages <= 0) return;
    this.entries++;
    this.messagesSeen += messages;
    this.bytesSeen += bytes;
  }

  /**
   * Start reading after `afterSeq` (the processor's cursor) into the buffer `read` answers from. Call once,
   * on the processor's side; `onAppend` listeners hear of each entry that arrives.
   */
  follow(afterSeq: number): void {
    if (this.following) return;
    this.following = true;
    this.releasedUpTo = afterSeq;
    this.restart(afterSeq + 1);
  }

  private restart(fromSeq: number): void {
    const generation = ++this.generation;
    this.buffer = [];
    this.bufferedBytes = 0;
    const previous = this.consumer;
    this.consumer = null;
    const before = this.pumping ?? Promise.resolve();
    void previous?.close();
    this.space?.resolve();
    this.pumping = before.then(() => this.pump(generation, fromSeq));
  }

  private async pump(generation: number, fromSeq: number): Promise<void> {
    const live = () => !this.closed && generation === this.generation;
    while (live()) {
      try {
        // An ephemeral pull consumer without acknowledgements, from the cursor: the cursor in the store is
        // what counts. It outlives pauses while the buffer is full; when it is gone (or after any error)
        // a new one starts where the buffer ends.
        const created = await this.jsm.consumers.add(this.settings.stream, {
          ack_policy: AckPolicy.None,
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: Math.max(1, fromSeq),
          filter_subject: this.subject,
          inactive_threshold: nanos(CONSUMER_IDLE_MS),
          mem_storage: true,
          num_replicas: 1,
        });
        this.consumerName = created.name;
        const consumer = await this.js.consumers.get(this.settings.stream, created.name);
        while (live()) {
          // Pull only what the buffer has room for: a backlog stays in the stream, not in this process.
          while (live() && this.bufferedBytes > READER_BUFFER_BYTES / 2) {
            await new Promise<void>((resolve) => (this.space = { resolve }));
            this.space = null;
          }
          if (!live()) return;
          // Entries arrive as they are pulled; the pull ends at its count or after its wait. Its count makes
          // about `FETCH_BYTES` at the entries' mean size so far (NATS 2.9 does not honour a pull's byte budget).
          const meanBytes = this.entries === 0 ? 16_384 : this.bytesSeen / this.entries;
          const count = Math.max(1, Math.min(FETCH_MAX_ENTRIES, Math.floor(FETCH_BYTES / meanBytes)));
          const batch = await consumer.fetch({ max_messages: count, expires: FETCH_WAIT_MS });
          this.consumer = batch;
          for await (const m of batch) {
            if (!live()) break;
            const record = recordOf(m);
            fromSeq = record.seq + 1;
            if (record.seq <= this.releasedUpTo) continue;
            this.buffer.push(record);
            this.bufferedBytes += record.body.length;
            this.seen(record.messages, record.body.length);
            const head = record.seq + m.info.pending;
            if (head > this.head) this.head = head;
            for (const l of this.listeners) l();
          }
          this.consumer = null;
        }
      } catch (err) {
        if (!live()) return;
        this.sayOnce('reader', err);
        await new Promise((r) => setTimeout(r, 1_000).unref());
      }
    }
  }

  read(afterSeq: number, limit: number, maxMessages: number): LogRecord[] {
    if (!this.following) throw new Error('NatsEventLog.read needs follow() first');
    if (afterSeq < this.releasedUpTo) {
      // Asked for entries already let go (a cursor that moved back): read the stream again from there.
      this.releasedUpTo = afterSeq;
      this.restart(afterSeq + 1);
      return [];
    }
    const out: LogRecord[] = [];
    let messages = 0;
    for (const r of this.buffer) {
      if (r.seq <= afterSeq) continue;
      if (out.length >= limit || (out.length > 0 && messages + r.messages > maxMessages)) break;
      messages += r.messages;
      out.push(r);
    }
    return out;
  }

  release(uptoSeq: number): void {
    if (uptoSeq <= this.releasedUpTo) return;
    this.releasedUpTo = uptoSeq;
    let n = 0;
    while (n < this.buffer.length && this.buffer[n]!.seq <= uptoSeq) {
      this.bufferedBytes -= this.buffer[n]!.body.length;
      n++;
    }
    if (n > 0) this.buffer = this.buffer.slice(n);
    if (this.bufferedBytes <= READER_BUFFER_BYTES / 2) this.space?.resolve();
  }

  /** Purge the stream up to `uptoSeq` (entries whose processing is durable), in the background, at most one purge at a time. */
  truncate(uptoSeq: number): void {
    if (uptoSeq <= this.wantPurgeUpTo) return;
    this.wantPurgeUpTo = uptoSeq;
    if (this.purging === null) this.purging = this.purgeLoop();
  }

  private async purgeLoop(): Promise<void> {
    try {
      while (this.purgedUpTo < this.wantPurgeUpTo && !this.closed) {
        const upto = this.wantPurgeUpTo;
        await this.jsm.streams.purge(this.settings.stream, { seq: upto + 1 });
        this.purgedUpTo = upto;
      }
    } catch (err) {
      this.onError(err);
    } finally {
      this.purging = null;
    }
  }

  /**
   * Erasure: purge the processed entries. JetStream drops purged messages from its index at once; their
   * bytes leave the disk when the file store removes or compacts their block (see `docs/privacy.md`).
   */
  scrub(uptoSeq: number): boolean {
    if (uptoSeq > 0) this.truncate(uptoSeq);
    return true;
  }

  backlog(processedSeq: number): { records: number; messages: number; oldestReceivedAt: number | null } {
    if (processedSeq > this.processedAsked) this.processedAsked = processedSeq;
    const from = Math.max(processedSeq, this.state.firstSeq - 1);
    const records = Math.max(0, this.headSeq() - from);
    const perEntry = this.entries === 0 ? 1 : this.messagesSeen / this.entries;
    // When the first waiting entry arrived, as of the last look at the stream (half a second at most).
    const oldestReceivedAt = records > 0 && this.oldest !== null && this.oldest.seq > from ? this.oldest.receivedAt : null;
    return { records, messages: Math.round(records * perEntry), oldestReceivedAt };
  }

  headSeq(): number {
    return Math.max(this.head, this.state.lastSeq);
  }

  onAppend(listener: () => void): void {
    this.listeners.push(listener);
  }

  private readonly lastSaid = new Map<string, number>();

  /** What is tried again and again (the state twice a second, the reader every second): while NATS is away, said once every 30 s. */
  private sayOnce(kind: string, err: unknown): void {
    if (Date.now() - (this.lastSaid.get(kind) ?? -Infinity) < 30_000) return;
    this.lastSaid.set(kind, Date.now());
    this.onError(err);
  }

  private async refreshState(): Promise<void> {
    if (this.closed) return;
    const info = await this.jsm.streams.info(this.settings.stream);
    this.state = { firstSeq: info.state.first_seq, lastSeq: info.state.last_seq };
    // The first entry the processor has not passed: its arrival time is the pipeline's lag.
    const first = Math.max(this.state.firstSeq, this.processedAsked + 1);
    if (first > this.state.lastSeq) this.oldest = null;
    else if (this.oldest?.seq !== first) {
      const m = await this.jsm.streams.getMessage(this.settings.stream, { seq: first }).catch(() => null);
      this.oldest = m === null ? null : { seq: first, receivedAt: Number(m.header?.get(HEADER.receivedAt)) || m.time.getTime() };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.stateTimer) clearInterval(this.stateTimer);
    await this.purging;
    this.closed = true;
    this.generation++;
    this.space?.resolve();
    await this.consumer?.close();
    await this.pumping;
    if (this.consumerName !== null) await this.jsm.consumers.delete(this.settings.stream, this.consumerName).catch(() => false);
    await this.nc.drain().catch(() => this.nc.close());
  }
}

function recordOf(m: JsMsg): LogRecord {
  const h = m.headers;
  const shape = h?.get(HEADER.shape);
  const typeHint = h?.get(HEADER.typeHint);
  return {
    seq: m.seq,
    sourceId: h?.get(HEADER.source) ?? '',
    receivedAt: Number(h?.get(HEADER.receivedAt)) || m.info.timestampNanos / 1e6,
    typeHint: typeHint === undefined || typeHint === '' ? null : (typeHint as EventType),
    shape: shape === 'single' || shape === 'command' ? shape : 'batch',
    body: m.string(),
    messages: Number(h?.get(HEADER.messages)) || 0,
  };
}

/** The stream, created if missing; its cap and replicas kept as configured. Answers its creation time (part of the log's id). */
async function ensureStream(jsm: JetStreamManager, settings: NatsLogSettings): Promise<string> {
  const wanted: Partial<StreamConfig> & { name: string } = {
    name: settings.stream,
    subjects: [subjectOf(settings.stream)],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    max_bytes: settings.maxBytes,
    num_replicas: settings.replicas,
    duplicate_window: DUPLICATE_WINDOW_NS,
  };
  for (let attempt = 0; ; attempt++) {
    try {
      const info = await jsm.streams.info(settings.stream);
      const c = info.config;
      if (!c.subjects?.includes(subjectOf(settings.stream))) {
        throw new Error(
          `NATS stream ${settings.stream} exists without the subject ${subjectOf(settings.stream)}: it is not a Tessera log; choose another TESSERA_NATS_STREAM`,
        );
      }
      if (c.max_bytes !== settings.maxBytes || c.num_replicas !== settings.replicas || c.discard !== DiscardPolicy.New) {
        await jsm.streams.update(settings.stream, {
          ...c,
          max_bytes: settings.maxBytes,
          num_replicas: settings.replicas,
          discard: DiscardPolicy.New,
        });
      }
      return info.created;
    } catch (err) {
      const missing = err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
      if (!missing || attempt > 2) throw err;
      // Two instances starting at once may both try: one creates it, the other reads it on the next turn.
      await jsm.streams.add(wanted).catch(() => undefined);
    }
  }
}
