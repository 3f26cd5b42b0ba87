/**
 * The storage port. Everything Tessera keeps (sources, settings, events, failed events, processing
 * cursors) goes through this interface; `sqlite/` and `postgres/` implement it and one contract suite
 * (`test/storage/store.contract.ts`) runs against both. Only `open-store.ts` chooses the backend.
 */
import type { EventHeader, EventType, FailedEvent, FailureReason } from '../core/event/event.ts';
import type { IdentityFact } from '../core/identity/facts.ts';
import type {
  IdentityReader,
  IdentityWrite,
  StoredAccount,
  StoredIdentityWarning,
  StoredMergeLogEntry,
  StoredProfile,
  TraitCatalogueEntry,
} from './identity-records.ts';

export type * from './identity-records.ts';

export interface Source {
  id: string;
  name: string;
  writeKey: string;
  enabled: boolean;
  createdAt: number;
}

/**
 * An event as the processor hands it to the store: the normalised event's header plus its stored JSON
 * (the message as text; the store never reads the message as an object).
 */
export interface EventToStore {
  event: EventHeader;
  payload: string;
  /**
   * The identifier (`type:value`) the event is attributed to; its profile is whichever profile holds that
   * identifier now, so merges and unmerges move events without rewriting them. Null: no usable identifier.
   */
  ident?: string | null;
  /** Stored but restricted by a collection policy: kept for the record, never used for segments or activation. */
  restricted?: boolean;
}

/** Everything one processor micro-batch writes, applied in one transaction together with the cursor. */
export interface ProcessedBatch {
  cursorName: string;
  /** The log position this batch ends at; stored atomically with the data. */
  cursorSeq: number;
  /**
   * The position the batch starts after, when the writer knows it (the processor always does): the batch
   * then commits only if the cursor is still there, and otherwise fails with `CursorMovedError`, writing
   * nothing. Two processors reading one log (instances sharing a NATS stream) thus never store a batch
   * twice nor move the cursor back: the slower one's batch fails, and it carries on from the new position.
   */
  cursorFrom?: number;
  events: EventToStore[];
  failed: FailedEvent[];
  /** Time used to expire de-duplication keys. */
  now: number;
  /** Identity and profile changes of the batch, written in the same transaction. */
  identity?: IdentityWrite;
  /** Answers to operator commands applied by this batch, readable with `commandResult`. */
  commandResults?: Array<{ requestId: string; result: unknown }>;
  /**
   * Consent choices carried by the batch's events (see `privacy/privacy-gate.ts`), for the consent
   * follower: written with the batch, so they become visible exactly when its cursor moves past it.
   */
  consentInbox?: readonly ConsentInboxEntry[];
}

/** One event's carried consent choices, as the consent inbox keeps them until the follower applies them. */
export interface ConsentInboxEntry {
  /** Unique per event (`[sourceId, messageId]` as JSON): a replayed or re-sent event adds nothing. */
  dedupKey: string;
  /** The identifier keys (`type:value`) of the event's subject. */
  identifiers: readonly string[];
  /** The carried changes, as JSON. */
  changes: string;
  /**
   * Where identity placed the event (set by the processor once the event is resolved): the fact seq of
   * its event and the profile it resolved to. Absent for an event identity never saw (dropped, duplicate).
   */
  placement?: { factSeq: number; profileId: string };
}

/** A processor transaction: reads see every earlier commit; nothing is visible to others until it ends. */
export interface BatchTx extends IdentityReader {
  /** Record the events' de-duplication keys; per event, whether it is new (false: seen within the window or earlier in this list). */
  claim(events: readonly EventToStore[], now: number): Promise<boolean[]>;
  /**
   * Take the store's write lock for the rest of the transaction, if not already held: on PostgreSQL the
   * commit lock that the processors of every node sharing the store take in turn (the claim comes before
   * it), on SQLite a no-op (the transaction holds the write lock from its start). Every other method
   * takes it too; calling it first says where the batch's turn begins.
   */
  lock(): Promise<void>;
  /** Write claimed events, failed events, identity changes and the cursor (no de-duplication here). */
  write(batch: ProcessedBatch): Promise<void>;
  /** The first free identity fact seq (facts are numbered in the order they are applied). */
  nextFactSeq(): Promise<number>;
  /** Every identity fact, in canonical order (for a full rebuild). */
  allFacts(): Promise<IdentityFact[]>;
  /** Delete every profile, identity and redirect (facts, events and accounts stay): the start of a full rebuild. */
  clearProfiles(): Promise<void>;
  /** Write identity changes alone (no events, no cursor): operator tools such as a full rebuild. */
  writeIdentity(write: IdentityWrite): Promise<void>;
}

export interface ProfileSearch {
  /** Identifier key prefix, `type:` followed by the start of a value (e.g. `email:ann`). */
  identifierPrefix?: string;
  /** Trait at an encoded path equal to a JSON scalar. */
  trait?: { path: string; value: string | number | boolean };
  /** Cursor: profile ids after this one. */
  afterId?: string;
  limit: number;
}

export type StoredEventWithIdent = StoredEvent;

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
  /** The identifier (`type:value`) the event is attributed to (see `EventToStore.ident`). */
  ident: string | null;
  restricted: boolean;
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
  /**
   * Whether a transaction's statements wait on another process (a database server): the processor then
   * prepares its next micro-batch while the current one commits. False for an embedded store, whose
   * transaction runs on the caller's thread and would only hold its write lock longer.
   */
  readonly commitsElsewhere: boolean;
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

  /**
   * Run one processor transaction. SQLite: the callback must only await the transaction's own methods
   * (they settle at once, so no other work interleaves). PostgreSQL: holds the commit lock, so workers on
   * several machines apply identity changes one at a time and each sees the others' commits.
   * SQLite's commits survive a process crash but may be lost with the machine (WAL, `synchronous=NORMAL`)
   * until `syncCommitted` covers them, which is why the durable log keeps entries until then; PostgreSQL's
   * always survive.
   */
  runBatch<T>(work: (tx: BatchTx) => Promise<T>): Promise<T>;

  /**
   * Make every commit made so far survive power loss, without holding the write lock or blocking the
   * calling thread. SQLite: an fdatasync of the WAL file on the thread pool (fsync acts on a file, so it
   * covers every connection's commits; frames a checkpoint moved out were synced by the checkpoint).
   * PostgreSQL: nothing to do, its commits are durable when they return.
   */
  syncCommitted(): Promise<void>;

  /** The processor's answer to an operator command, once applied; null before. */
  commandResult(requestId: string): Promise<unknown>;

  /** A profile by id; a merged-away id answers its survivor. */
  getProfile(id: string): Promise<StoredProfile | null>;
  /** The live profile holding an identifier key (`type:value`), or null: one read (a lookup's hot path). */
  profileHolding(identifierKey: string): Promise<StoredProfile | null>;
  /** Ids of live profiles matching the search, in id order, after `afterId` (the bodies are read by the caller's read model). */
  searchProfileIds(search: ProfileSearch): Promise<string[]>;
  countProfiles(): Promise<number>;
  /** A profile's timeline: events attributed to any of its identifiers, newest first. */
  profileEvents(profileId: string, options: { beforeSeq?: number; afterSeq?: number; limit: number }): Promise<StoredEventWithIdent[]>;
  /** Merge log entries naming any of these profile ids, newest first. */
  mergeLog(profileIds: readonly string[], limit: number): Promise<StoredMergeLogEntry[]>;
  listIdentityWarnings(filter: { profileId?: string; beforeId?: number; limit: number }): Promise<StoredIdentityWarning[]>;
  getAccount(id: string): Promise<StoredAccount | null>;
  accountMembers(
    accountId: string,
    options: { afterProfileId?: string; limit: number },
  ): Promise<Array<{ profileId: string; since: number }>>;
  accountsOf(profileId: string): Promise<string[]>;
  listTraitCatalogue(): Promise<TraitCatalogueEntry[]>;
  updateTraitCatalogue(name: string, patch: Partial<Pick<TraitCatalogueEntry, 'category' | 'pii'>>): Promise<TraitCatalogueEntry | null>;

  close(): Promise<void>;
}

/** A batch's cursor was moved by another processor since the batch was read (see `ProcessedBatch.cursorFrom`). */
export class CursorMovedError extends Error {
  constructor(
    readonly cursorName: string,
    readonly expected: number,
  ) {
    super(`the cursor ${cursorName} is no longer at ${expected}: another processor reads this log`);
    this.name = 'CursorMovedError';
  }
}
