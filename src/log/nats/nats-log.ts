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
 * - **Reading** (`follow`, on the processor's side: `nats-reader.ts`) pulls the stream from the processor's
 *   cursor into a bounded buffer that `read` answers synchronously, as the port wants. The cursor stays in
 *   the store, committed with the data, so processing stays exactly once whatever NATS delivers twice.
 * - **Sealed entries**: every body is encrypted with a key kept in the store, and keys are deleted once
 *   their entries are processed and purged, so the bytes JetStream keeps on disk after a purge cannot be
 *   read (`log-keyring.ts`, `log-cipher.ts`). The processor's node shreds keys as it purges.
 * - The stream itself, and how an entry travels as a message: `nats-stream.ts`.
 *
 * One processor works a stream at a time: others on the same stream stand by (each batch moves the cursor
 * only from where it started: `ProcessedBatch.cursorFrom`). More processors run on more streams
 * (`TESSERA_NATS_STREAM`), each with its own cursor; PostgreSQL keeps identity consistent between them.
 */
import { jetstream, JetStreamApiError, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { TesseraError } from '../../core/errors/catalogue.ts';
import type { EventLog, LogEntry, LogRecord } from '../event-log.ts';
import { SEAL_OVERHEAD, sealBody } from './log-cipher.ts';
import { LogKeyring, type LogKeyStore } from './log-keyring.ts';
import { NatsLogReader } from './nats-reader.ts';
import { ensureStream, HEADER, headersOf, subjectOf, type NatsLogSettings } from './nats-stream.ts';

export type { NatsLogSettings } from './nats-stream.ts';

/** How long an append waits for JetStream's acknowledgement, per try, and how many tries it makes. */
const PUBLISH_TIMEOUT_MS = 5_000;
const PUBLISH_TRIES = 3;
/** JetStream's refusals of a stream at its cap: maximum messages, maximum bytes. */
const STREAM_FULL = new Set([10076, 10077]);
/** Room kept in a NATS message for the headers beside the body. */
const HEADER_ROOM = 1024;
/** How often the stream's state (first and last seq) is asked for, for `backlog`. */
const STATE_EVERY_MS = 500;
/** How often the processor's node looks for keys to seal and shred. */
const SHRED_EVERY_MS = 2_000;

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
  private purging: Promise<void> | null = null;
  private purgedUpTo = 0;
  private wantPurgeUpTo = 0;
  private closed = false;
  /** Connected to a server: while the client reconnects, appends are refused at once rather than after their timeouts. */
  private connected = true;
  /** The processor's side, once `follow` is called. */
  private reader: NatsLogReader | null = null;
  /** When each kind of repeated failure was last said (see `sayOnce`). */
  private readonly lastSaid = new Map<string, number>();
  private readonly keyring: LogKeyring;
  /** Started by the first `truncate`: only the processor's node purges, so only it shreds keys. */
  private shredTimer: NodeJS.Timeout | null = null;
  private shredding: Promise<void> | null = null;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly settings: NatsLogSettings,
    readonly logId: string,
    keys: LogKeyStore,
    private readonly onError: (err: unknown) => void,
  ) {
    this.keyring = new LogKeyring(keys, logId, settings.keyRotateMs, (err) => this.sayOnce('keys', err));
  }

  /**
   * Connect and make sure the stream exists as configured (created on first use). `keys`: where the keys
   * that seal entries are kept (the store's `privacy_log_keys`).
   */
  static async open(
    settings: NatsLogSettings,
    opts: { name: string; keys: LogKeyStore; onError?: (err: unknown) => void },
  ): Promise<NatsEventLog> {
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
      const log = new NatsEventLog(
        nc,
        jetstream(nc),
        jsm,
        settings,
        `nats:${settings.stream}:${created}`,
        opts.keys,
        opts.onError ?? (() => {}),
      );
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
    if (limit !== undefined && bytes > limit - HEADER_ROOM - SEAL_OVERHEAD) {
      throw new TesseraError(
        'payload_too_large',
        `the body is ${bytes} bytes; the durable log (NATS) takes at most ${limit - HEADER_ROOM - SEAL_OVERHEAD} per request`,
      );
    }
    let key;
    try {
      key = await this.keyring.acquire();
    } catch (err) {
      this.sayOnce('keys', err);
      throw new TesseraError('log_unavailable', 'the durable log could not store a new encryption key; retry later', 2);
    }
    try {
      return await this.publish(entry, key.id, sealBody(entry.body, key.secret));
    } finally {
      this.keyring.settled(key);
    }
  }

  private async publish(entry: LogEntry, keyId: string, payload: Uint8Array): Promise<number> {
    const h = headersOf(entry, keyId);
    const msgID = randomUUID();
    for (let attempt = 1; ; attempt++) {
      try {
        const ack = await this.js.publish(this.subject, payload, { headers: h, msgID, timeout: PUBLISH_TIMEOUT_MS });
        this.seen(entry.messages);
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

  private seen(messages: number): void {
    if (messages <= 0) return;
    this.entries++;
    this.messagesSeen += messages;
  }

  /**
   * Start reading after `afterSeq` (the processor's cursor) into the buffer `read` answers from. Call once,
   * on the processor's side; `onAppend` listeners hear of each entry that arrives.
   */
  follow(afterSeq: number): void {
    if (this.reader !== null || this.closed) return;
    this.reader = new NatsLogReader(
      this.js,
      this.jsm,
      this.settings,
      this.keyring,
      {
        onRecord: (record, head) => {
          // Lost data: said every time (the processor records it as a failed event too).
          if (record.unreadable !== undefined) this.onError(new Error(`${record.unreadable}; ${record.messages} message(s) lost`));
          this.seen(record.messages);
          if (head > this.head) this.head = head;
          for (const l of this.listeners) l();
        },
        onRetry: (err) => this.sayOnce('reader', err),
      },
      afterSeq,
    );
  }

  read(afterSeq: number, limit: number, maxMessages: number): LogRecord[] {
    if (this.reader === null) throw new Error('NatsEventLog.read needs follow() first');
    return this.reader.read(afterSeq, limit, maxMessages);
  }

  release(uptoSeq: number): void {
    this.reader?.release(uptoSeq);
  }

  /** Purge the stream up to `uptoSeq` (entries whose processing is durable), in the background, at most one purge at a time. */
  truncate(uptoSeq: number): void {
    this.shredTimer ??= setInterval(() => this.shredSoon(), SHRED_EVERY_MS).unref();
    if (uptoSeq <= this.wantPurgeUpTo) return;
    this.wantPurgeUpTo = uptoSeq;
    if (this.purging === null) this.purging = this.purgeLoop();
  }

  /** Seal unused keys and delete those whose entries are all purged (one pass at a time). */
  private shredSoon(): void {
    if (this.shredding !== null || this.closed) return;
    this.shredding = this.keyring
      .shred(this.purgedUpTo, async () => (await this.jsm.streams.info(this.settings.stream)).state.last_seq)
      .then(
        () => undefined,
        (err: unknown) => this.sayOnce('shred', err),
      )
      .finally(() => (this.shredding = null));
  }

  private async purgeLoop(): Promise<void> {
    try {
      while (this.purgedUpTo < this.wantPurgeUpTo && !this.closed) {
        const upto = this.wantPurgeUpTo;
        await this.jsm.streams.purge(this.settings.stream, { seq: upto + 1 });
        this.purgedUpTo = upto;
      }
    } catch (err) {
      // Tried again at the next truncation (the processor's node asks at least once a second while it works).
      this.wantPurgeUpTo = this.purgedUpTo;
      this.sayOnce('purge', err);
    } finally {
      this.purging = null;
    }
  }

  /**
   * Erasure: purge the processed entries, and seal this edge's current key now rather than at its
   * rotation, so the keys of every entry up to here are shredded as soon as the processor has passed them.
   * JetStream drops purged messages from its index at once; their bytes stay on its disks, sealed, until
   * it reuses the block (see `docs/privacy.md`).
   */
  scrub(uptoSeq: number): boolean {
    if (uptoSeq > 0) this.truncate(uptoSeq);
    this.keyring.rotate();
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

  /** The keys this log holds in the store, as of the shredder's last pass (null where this instance does not shred). */
  keyStats(): { keys: number; oldestAgeSeconds: number; shredded: number } | null {
    return this.keyring.stats();
  }

  unavailable(): string | null {
    if (this.closed) return 'the durable log is closed';
    return this.connected ? null : 'the durable log (NATS JetStream) is not reachable';
  }

  headSeq(): number {
    return Math.max(this.head, this.state.lastSeq);
  }

  onAppend(listener: () => void): void {
    this.listeners.push(listener);
  }

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
    if (this.shredTimer) clearInterval(this.shredTimer);
    await this.purging;
    await this.shredding;
    await this.keyring.close().catch((err: unknown) => this.onError(err));
    this.closed = true;
    await this.reader?.close();
    await this.nc.drain().catch(() => this.nc.close());
  }
}
