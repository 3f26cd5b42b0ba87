/**
 * Turn one durable log entry back into normalised events and failed events. Pure: the same entry
 * always yields the same result (messageIds generated for messages without one are derived from the
 * log position), so replaying the log after a crash is safe.
 */
import type { FailedEvent, JsonObject } from '../core/event/event.ts';
import { normalizeMessage } from '../core/event/normalize.ts';
import type { Limits } from '../config/config.ts';
import type { LogRecord } from '../log/event-log.ts';
import type { DecodedEvent } from './event-gate.ts';

export interface DecodedEntry {
  events: DecodedEvent[];
  failed: FailedEvent[];
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export function decodeEntry(record: LogRecord, limits: Pick<Limits, 'maxMessageBytes' | 'maxDepth'>): DecodedEntry {
  const out: DecodedEntry = { events: [], failed: [] };
  if (record.unreadable !== undefined) {
    // Its body could not be read back (on NATS: the key that sealed it is gone): say so, once for the entry.
    out.failed.push({
      sourceId: record.sourceId,
      receivedAt: record.receivedAt,
      reason: 'unreadable_entry',
      detail: `${record.unreadable} (${record.messages} message(s) lost)`,
      messageId: null,
      payload: '',
    });
    return out;
  }
  // The edge only appends bodies that parsed; a failure here means the log itself is damaged.
  const body = JSON.parse(record.body) as unknown;
  let messages: unknown[];
  let batchContext: JsonObject | undefined;
  let batchIntegrations: JsonObject | undefined;
  let batchSentAt: unknown;
  if (record.shape === 'batch' && isObject(body) && Array.isArray(body.batch)) {
    messages = body.batch;
    batchContext = isObject(body.context) ? body.context : undefined;
    batchIntegrations = isObject(body.integrations) ? body.integrations : undefined;
    batchSentAt = body.sentAt;
  } else {
    messages = [body];
  }
  const receivedAtIso = new Date(record.receivedAt).toISOString();
  for (let i = 0; i < messages.length; i++) {
    const result = normalizeMessage(messages[i], {
      sourceId: record.sourceId,
      receivedAt: record.receivedAt,
      receivedAtIso,
      batchContext,
      batchIntegrations,
      batchSentAt,
      typeHint: record.typeHint,
      fallbackMessageId: `tessera-${record.seq}-${i}`,
      maxMessageBytes: limits.maxMessageBytes,
      maxDepth: limits.maxDepth,
    });
    if (result.ok) out.events.push({ event: result.event, payload: result.payload });
    else out.failed.push(result.failed);
  }
  return out;
}
