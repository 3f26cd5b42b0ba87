/**
 * Everything a micro-batch of events goes through before its transaction: decoding each log record
 * into messages (`decode-entry.ts`), removing duplicates within the batch, the collection gate, and the
 * batch form of the kept events (`batch-event.ts`: the message objects resolution does not read let go).
 * The processor runs it just before a commit, or, on a store that commits in another process, for the
 * next batch while the current one commits.
 */
import type { CountryCode } from 'libphonenumber-js';
import type { Limits } from '../config/config.ts';
import type { FailedEvent } from '../core/event/event.ts';
import type { LogRecord } from '../log/event-log.ts';
import type { ConsentInboxEntry } from '../storage/store.ts';
import { toBatchEvent, type BatchEvent } from './batch-event.ts';
import { decodeEntry } from './decode-entry.ts';
import type { DecodedEvent, EventGate, GateResult } from './event-gate.ts';

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
  /** The events the gate kept, in their order. */
  events: BatchEvent[];
  /** The gate's counts: events dropped by reason, decisions applied to kept events. */
  dropped: GateResult['dropped'];
  decisions: GateResult['decisions'];
  /** Consent choices the batch's events carry, to be written with it. */
  consentInbox: ConsentInboxEntry[] | undefined;
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
  options: {
    limits: Pick<Limits, 'maxMessageBytes' | 'maxDepth'>;
    gate?: EventGate;
    /** Identity resolution's default phone region: identifiers the gate extracted with another are not reused. */
    region: CountryCode;
    yielding: boolean;
  },
): Promise<PreparedEvents> {
  const events: DecodedEvent[] = [];
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
  const extractedOf = gated.extractedOf;
  return {
    after,
    last: records[records.length - 1]!,
    failed,
    duplicatesInBatch,
    events: gated.kept.map((e) => toBatchEvent(e, extractedOf?.(e, options.region))),
    dropped: gated.dropped,
    decisions: gated.decisions,
    consentInbox: gated.consentInbox,
    records: records.length,
    messages,
    firstReceivedAt: records[0]!.receivedAt,
  };
}
