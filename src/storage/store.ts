/**
 * The storage port. Everything Tessera keeps (sources, settings, events, failed events, processing
 * cursors) goes through this interface; `sqlite/` and `postgres/` implement it and one contract suite
 * (`test/storage/store.contract.ts`) runs against both. Only `open-store.ts` chooses the backend.
 */
import type { EventType, FailedEvent, FailureReason, TrackedEvent } from '../core/event/event.ts';

export interface Source {
  id: string;
  name: string;
  writeKey: string;
  enabled: boolean;
  createdAt: number;
}

/** An event as the processor hands it to the store: the normalised event plus its stored JSON. */
export interface EventToStore {
  event: TrackedEvent;
  payload: string;
}

/** Everything one processor micro-batch writes, applied in one transaction together with the cursor. */
export interface ProcessedBatch {
  cursorName: string;
  /** The log position this batch ends at; stored atomically with the data. */
  cursorSeq: number;
  events: EventToStore[];
  failed: FailedEvent[];
  /** Time used to expire de-duplication keys. */
  now: number;
}

export interface CommitResult {
  stored: number;
  /** Messages dropped because their (source, messageId) was seen before, inside the window. */
  duplicates: number;
}

export interface StoredEvent {
  seq: number;
  sourceId: string;
  messageId: string;
  type: EventType;
  name: string | null;
  userId: string | null;
  anonymousId: string | null;
  timestamp: number;
  receivedAt: number;
  message: Record<string, unknown>;
}

export interface StoredFailedEvent extends FailedEvent {
  id: number;
}

export interface EventFilter {
  sourceId?: string;
  type?: EventType;
  name?: string;
  userId?: string;
  anonymousId?: string;
  /** Event time bounds, ms since the epoch, inclusive from and exclusive to. */
  from?: number;
  to?: number;
  /** Only events with seq below this one (cursor for paging back through history). */
  beforeSeq?: number;
  /** Only events with seq above this one (for following new events). */
  afterSeq?: number;
  limit: number;
}

export interface FailedEventFilter {
  sourceId?: string;
  reason?: FailureReason;
  beforeId?: number;
  limit: number;
}

export interface Store {
  readonly backend: 'sqlite' | 'postgres';
  /** Bring the schema up to date. Idempotent. */
  migrate(): Promise<void>;
  /** Cheap round trip to prove the store answers. */
  ping(): Promise<void>;

  createSource(source: Source): Promise<void>;
  listSources(): Promise<Source[]>;
  getSource(id: string): Promise<Source | null>;
  updateSource(id: string, patch: Partial<Pick<Source, 'name' | 'writeKey' | 'enabled'>>): Promise<Source | null>;

  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string): Promise<void>;

  /** Store a processed batch: de-duplicate, insert events and failed events, advance the cursor, in one transaction. */
  commitBatch(batch: ProcessedBatch): Promise<CommitResult>;
  readCursor(name: string): Promise<number>;
  /** Forget de-duplication keys seen before `olderThan`. Returns how many were forgotten. */
  expireDedupKeys(olderThan: number): Promise<number>;

  listEvents(filter: EventFilter): Promise<StoredEvent[]>;
  countEvents(): Promise<number>;
  listFailedEvents(filter: FailedEventFilter): Promise<StoredFailedEvent[]>;

  close(): Promise<void>;
}
