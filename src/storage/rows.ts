/** Row shapes shared by both SQL adapters (same column names on SQLite and PostgreSQL) and their mappers. */
import type { EventType, FailureReason } from '../core/event/event.ts';
import type { ConsentInboxEntry, EventToStore, ProcessedBatch, Source, StoredEventWithIdent, StoredFailedEvent } from './store.ts';

export interface SourceRow {
  id: string;
  name: string;
  write_key: string;
  /** INTEGER 0/1 on SQLite, BOOLEAN on PostgreSQL. */
  enabled: number | boolean;
  created_at: number;
}

export interface EventRow {
  seq: number;
  source_id: string;
  message_id: string;
  type: string;
  name: string | null;
  user_id: string | null;
  anonymous_id: string | null;
  ts: number;
  received_at: number;
  payload: string;
  ident?: string | null;
  restricted?: number | boolean | null;
}

export interface FailedRow {
  id: number;
  source_id: string;
  received_at: number;
  reason: string;
  detail: string;
  message_id: string | null;
  payload: string;
}

export const toSource = (r: SourceRow): Source => ({
  id: r.id,
  name: r.name,
  writeKey: r.write_key,
  enabled: r.enabled === true || r.enabled === 1,
  createdAt: r.created_at,
});

export const toStoredEvent = (r: EventRow): StoredEventWithIdent => ({
  seq: r.seq,
  sourceId: r.source_id,
  messageId: r.message_id,
  type: r.type as EventType,
  name: r.name,
  userId: r.user_id,
  anonymousId: r.anonymous_id,
  timestamp: r.ts,
  receivedAt: r.received_at,
  message: JSON.parse(r.payload) as Record<string, unknown>,
  ident: r.ident ?? null,
  restricted: r.restricted === true || r.restricted === 1,
});

export const toFailed = (r: FailedRow): StoredFailedEvent => ({
  id: r.id,
  sourceId: r.source_id,
  receivedAt: r.received_at,
  reason: r.reason as FailureReason,
  detail: r.detail,
  messageId: r.message_id,
  payload: r.payload,
});

/** The columns an event is inserted with, in the order of `eventValues`. */
export const EVENT_COLUMNS = 'source_id, message_id, type, name, user_id, anonymous_id, ts, received_at, payload, ident, restricted';

/** An event's values for `EVENT_COLUMNS`, `restricted` last (a boolean: SQLite binds it as 0/1). */
export function eventValues({ event: e, payload, ident, restricted }: EventToStore): unknown[] {
  return [
    e.sourceId,
    e.messageId,
    e.type,
    e.name,
    e.userId,
    e.anonymousId,
    e.timestamp,
    e.receivedAt,
    payload,
    ident ?? null,
    restricted === true,
  ];
}

/** The columns a consent inbox row is inserted with, in the order of `consentInboxValues`. */
export const CONSENT_INBOX_COLUMNS = 'dedup_key, cursor_name, after_cursor, identifiers, changes, created_at, fact_seq, profile_id';

/**
 * A consent inbox row written with `batch`: the consent follower takes it once the processor's cursor is
 * past `after_cursor`, which the same commit makes true (the cursor moves to `cursorSeq`).
 */
export function consentInboxValues(r: ConsentInboxEntry, batch: Pick<ProcessedBatch, 'cursorName' | 'cursorSeq' | 'now'>): unknown[] {
  return [
    r.dedupKey,
    batch.cursorName,
    batch.cursorSeq - 1,
    JSON.stringify(r.identifiers),
    r.changes,
    batch.now,
    r.placement?.factSeq ?? null,
    r.placement?.profileId ?? null,
  ];
}
