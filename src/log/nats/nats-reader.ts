/**
 * The processor's side of the NATS log: it pulls the stream from the processor's cursor into a bounded
 * buffer, through an ephemeral pull consumer without acknowledgements (the cursor in the store is what
 * counts), and answers `read` from that buffer synchronously. Entries stay readable until `release` (a
 * micro-batch that failed reads them again); it pulls only while the buffer has room, so a backlog stays
 * in the stream, not in this process. Bodies are opened as they arrive, with keys from the store.
 */
import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { LogRecord } from '../event-log.ts';
import type { LogKeyring } from './log-keyring.ts';
import { keyIdOf, recordOf, subjectOf, type NatsLogSettings } from './nats-stream.ts';

/**
 * The buffer holds about this many bytes of entries: it pulls while it holds less than half, about
 * `FETCH_BYTES` at a time (at most `FETCH_MAX_ENTRIES` entries), judged by the mean entry so far.
 */
export const READER_BUFFER_BYTES = 32 * 1024 * 1024;
const FETCH_BYTES = 2 * 1024 * 1024;
const FETCH_MAX_ENTRIES = 1_000;
/** Before the first entry, the size one is assumed to have. */
const FIRST_GUESS_BYTES = 16_384;
const FETCH_WAIT_MS = 5_000;
/** The consumer is removed by the server after this long unused (the reader gone, or paused that long). */
const CONSUMER_IDLE_MS = 120_000;

export interface ReaderHooks {
  /** An entry arrived; `head` is the last seq the stream held when it was sent. */
  onRecord(record: LogRecord, head: number): void;
  /** A failure it retries (every second while NATS is away). */
  onRetry(err: unknown): void;
}

export class NatsLogReader {
  private buffer: LogRecord[] = [];
  private bufferedBytes = 0;
  private releasedUpTo: number;
  private consumer: ConsumerMessages | null = null;
  private consumerName: string | null = null;
  private generation = 0;
  private space: (() => void) | null = null;
  private pumping: Promise<void> = Promise.resolve();
  private closed = false;
  private entries = 0;
  private bytes = 0;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly settings: NatsLogSettings,
    private readonly keys: LogKeyring,
    private readonly hooks: ReaderHooks,
    afterSeq: number,
  ) {
    this.releasedUpTo = afterSeq;
    this.restart(afterSeq + 1);
  }

  read(afterSeq: number, limit: number, maxMessages: number): LogRecord[] {
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
    if (this.bufferedBytes <= READER_BUFFER_BYTES / 2) this.space?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.generation++;
    this.space?.();
    await this.consumer?.close();
    await this.pumping;
    if (this.consumerName !== null) await this.jsm.consumers.delete(this.settings.stream, this.consumerName).catch(() => false);
  }

  private restart(fromSeq: number): void {
    const generation = ++this.generation;
    this.buffer = [];
    this.bufferedBytes = 0;
    void this.consumer?.close();
    this.consumer = null;
    this.space?.();
    this.pumping = this.pumping.then(() => this.pump(generation, fromSeq));
  }

  private async pump(generation: number, fromSeq: number): Promise<void> {
    const live = () => !this.closed && generation === this.generation;
    const subject = subjectOf(this.settings.stream);
    while (live()) {
      try {
        // A new consumer starts where the buffer ends: at first, and after any error (it may be gone).
        const created = await this.jsm.consumers.add(this.settings.stream, {
          ack_policy: AckPolicy.None,
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: Math.max(1, fromSeq),
          filter_subject: subject,
          inactive_threshold: nanos(CONSUMER_IDLE_MS),
          mem_storage: true,
          num_replicas: 1,
        });
        this.consumerName = created.name;
        const consumer = await this.js.consumers.get(this.settings.stream, created.name);
        while (live()) {
          while (live() && this.bufferedBytes > READER_BUFFER_BYTES / 2) {
            await new Promise<void>((resolve) => (this.space = resolve));
            this.space = null;
          }
          if (!live()) return;
          // Entries arrive as they are pulled; the pull ends at its count or after its wait. Its count makes
          // about `FETCH_BYTES` at the entries' mean size so far (NATS 2.9 does not honour a pull's byte budget).
          const meanBytes = this.entries === 0 ? FIRST_GUESS_BYTES : this.bytes / this.entries;
          const count = Math.max(1, Math.min(FETCH_MAX_ENTRIES, Math.floor(FETCH_BYTES / meanBytes)));
          const batch = await consumer.fetch({ max_messages: count, expires: FETCH_WAIT_MS });
          this.consumer = batch;
          for await (const m of batch) {
            if (!live()) break;
            // The entry's key: from memory, or the store when it is new (a failure there retries from this entry).
            const keyId = keyIdOf(m);
            const record = recordOf(m, keyId === null ? null : await this.keys.secretOf(keyId));
            if (!live()) break;
            fromSeq = record.seq + 1;
            if (record.seq <= this.releasedUpTo) continue;
            this.buffer.push(record);
            this.bufferedBytes += record.body.length;
            this.entries++;
            this.bytes += record.body.length;
            this.hooks.onRecord(record, record.seq + m.info.pending);
          }
          this.consumer = null;
        }
      } catch (err) {
        if (!live()) return;
        this.hooks.onRetry(err);
        await new Promise((r) => setTimeout(r, 1_000).unref());
      }
    }
  }
}
