/**
 * The processor: reads the durable log in order, in micro-batches, turns entries into events, and
 * commits each micro-batch to the store in one transaction together with its log position
 * (exactly-once: a crash before the commit replays the batch, a crash after it does not). Later stages
 * (identity, profiles, segments) plug in between decoding and committing.
 */
import type { Limits } from '../config/config.ts';
import type { FailedEvent } from '../core/event/event.ts';
import type { EventLog } from '../log/event-log.ts';
import type { EventToStore, Store } from '../storage/store.ts';
import { decodeEntry } from './decode-entry.ts';

export interface ProcessorOptions {
  log: EventLog;
  store: Store;
  limits: Pick<Limits, 'maxMessageBytes' | 'maxDepth'>;
  /** Told after each committed micro-batch (metrics, progress for back-pressure). */
  report: (report: BatchReport) => void;
  now: () => number;
  dedupWindowMs: number;
  /** Most log records and messages per micro-batch. */
  maxRecords?: number;
  maxMessages?: number;
  onError?: (err: unknown) => void;
}

export const CURSOR_NAME = 'processor';

/** What one committed micro-batch did; plain data so it can cross a worker-thread boundary. */
export interface BatchReport {
  processedSeq: number;
  stored: number;
  duplicates: number;
  failedByReason: Record<string, number>;
  lastReceivedAt: number;
}

export class Processor {
  private cursor = 0;
  private running = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private lastDedupSweep = 0;

  constructor(private readonly opts: ProcessorOptions) {}

  /** New entries were appended: wake the loop if it sleeps. */
  notify(): void {
    this.wake?.();
  }

  /** The log position processed so far. */
  get processedSeq(): number {
    return this.cursor;
  }

  async init(): Promise<void> {
    this.cursor = await this.opts.store.readCursor(CURSOR_NAME);
  }

  /** Process one micro-batch. Returns the number of log records consumed (0 when caught up). */
  async runOnce(): Promise<number> {
    const { log, store } = this.opts;
    const records = log.read(this.cursor, this.opts.maxRecords ?? 500, this.opts.maxMessages ?? 5_000);
    if (records.length === 0) return 0;
    const events: EventToStore[] = [];
    const failed: FailedEvent[] = [];
    const seen = new Set<string>();
    let duplicatesInBatch = 0;
    for (const record of records) {
      const decoded = decodeEntry(record, this.opts.limits);
      for (const e of decoded.events) {
        const key = `${e.event.sourceId}\u0000${e.event.messageId}`;
        if (seen.has(key)) {
          duplicatesInBatch++;
          continue;
        }
        seen.add(key);
        events.push(e);
      }
      failed.push(...decoded.failed);
    }
    const last = records[records.length - 1]!;
    const now = this.opts.now();
    const result = await store.commitBatch({ cursorName: CURSOR_NAME, cursorSeq: last.seq, events, failed, now });
    this.cursor = last.seq;
    const failedByReason: Record<string, number> = {};
    for (const f of failed) failedByReason[f.reason] = (failedByReason[f.reason] ?? 0) + 1;
    this.opts.report({
      processedSeq: last.seq,
      stored: result.stored,
      duplicates: result.duplicates + duplicatesInBatch,
      failedByReason,
      lastReceivedAt: last.receivedAt,
    });
    if (now - this.lastDedupSweep > 60_000) {
      this.lastDedupSweep = now;
      await store.expireDedupKeys(now - this.opts.dedupWindowMs);
    }
    return records.length;
  }

  /** Run until stopped: process while there is work, sleep until the log says there is more. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        let n = 0;
        try {
          n = await this.runOnce();
        } catch (err) {
          this.opts.onError?.(err);
          await new Promise((r) => setTimeout(r, 1000));
          continue;
        }
        if (n === 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, 250);
            function done() {
              clearTimeout(timer);
              resolve();
            }
            this.wake = done;
          });
          this.wake = null;
        } else {
          // Let the event loop serve requests between micro-batches.
          await new Promise((r) => setImmediate(r));
        }
      }
    })();
  }

  /** Stop after the current micro-batch; with `drain`, first process everything already in the log. */
  async stop(options: { drain?: boolean; deadline?: number } = {}): Promise<void> {
    if (options.drain) {
      while (this.running && (options.deadline === undefined || this.opts.now() < options.deadline)) {
        if (this.opts.log.read(this.cursor, 1, 1).length === 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    this.running = false;
    this.wake?.();
    await this.loop;
  }
}
