/**
 * Everything a micro-batch of events goes through before its transaction: decoding each log record
 * into messages (`decode-entry.ts`), removing duplicates within the batch, and the collection gate.
 * The processor runs it just before a commit, or, on a store that commits in another process, for the
 * next batch while the current one commits.
 */
import type { Limits } from '../config/config.ts';
import type { FailedEvent } from '../core/event/event.ts';
import type { LogRecord } from '../log/event-log.ts';
import type { EventToStore } from '../storage/store.ts';
import { decodeEntry } from './decode-entry.ts';
import type { EventGate, GateResult } from './event-gate.ts';

/** A micro-batch decoded and through the collection gate, ready for its transaction. */
export interface PreparedEvents {
  /** The log position it follows. */
  after: number;
  last: LogRecord;
  records: number;
  /** Messages in its records (events and failed ones, duplicates included). */
  messages: number;
  /** When its oldest record was accepted. */
  firstReceivedAt: number;
  failed: FailedEvent[];
  duplicatesInBatch: number;
  gated: GateResult;
}

/** While a batch commits elsewhere, the next one's decoding lets the event loop run this often (messages). */
const YIELD_EVERY_MESSAGES = 500;

/**
 * Decode `records` (the log entries after `after`) and pass their events through the gate. With
 * `yielding`, the event loop runs between records every few hundred messages, so that a transaction
 * committing meanwhile goes on reading its answers.
 */
export async function prepareEvents(
  after: number,
  records: readonly LogRecord[],
  options: { limits: Pick<Limits, 'maxMessageBytes' | 'maxDepth'>; gate?: EventGate; yielding: boolean },
): Promise<PreparedEvents> {
  const events: EventToStore[] = [];
  const failed: FailedEvent[] = [];
  const seen = new Set<string>();
  let duplicatesInBatch = 0;
  let sinceYield = 0;
  let messages = 0;
  for (const record of records) {
    messages += record.messages;
    const decoded = decodeEntry(record, options.limits);
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
    sinceYield += record.messages;
    if (options.yielding && sinceYield >= YIELD_EVERY_MESSAGES) {
      sinceYield = 0;
      await new Promise((r) => setImmediate(r));
    }
  }
  let gated: GateResult = { kept: events, dropped: {}, decisions: {} };
  const gate = options.gate;
  if (gate) {
    await gate.refresh(events);
    gated = gate.apply(events);
  }
  return {
    after,
    last: records[records.length - 1]!,
    failed,
    duplicatesInBatch,
    gated,
    records: records.length,
    messages,
    firstReceivedAt: records[0]!.receivedAt,
  };
}
