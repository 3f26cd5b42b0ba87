/**
 * The segment storage port: definitions (segments, computed traits), what the audience runner keeps
 * (memberships, the audience-events feed, size history, computed values, durable timers, cursors), and
 * the reads the API needs. `sqlite/` and `postgres/` implement it over one shared SQL implementation
 * (`sql-segment-store.ts`); one contract suite (`test/segments/segment-store.contract.ts`) runs against
 * both. Its tables have their own migrations, recorded in `segment_schema_migrations`.
 */
import type { ComputedTraitDefinition, Condition, ProfileEvent, TimerRow } from '../../core/segments/index.ts';

export type AudienceStatus = 'computing' | 'live' | 'failed';

/** What segments and computed traits share: a definition being computed, and the one that is live. */
export interface AudienceRecordBase {
  id: string;
  name: string;
  /** Bumped whenever the definition changes; a backfill finishes only for the generation it computed. */
  generation: number;
  status: AudienceStatus;
  /** Share of profiles the current backfill has evaluated, 0 to 1. */
  progress: number;
  error: string | null;
  /** Deleted, waiting for the runner to remove its rows (then the record itself goes). */
  deleted: boolean;
  createdAt: number;
  updatedAt: number;
  /** When the current definition went live; null while it computes. */
  liveAt: number | null;
}

export interface SegmentRecord extends AudienceRecordBase {
  description: string | null;
  /** The text the rule was written in, when it came as text. */
  query: string | null;
  rule: Condition;
  /** The rule the runner evaluates in real time until the backfill of `rule` finishes; null before first going live. */
  liveRule: Condition | null;
}

export interface ComputedTraitRecord extends AudienceRecordBase {
  definition: ComputedTraitDefinition;
  liveDefinition: ComputedTraitDefinition | null;
}

/** A change of definition, as the service writes it. */
export type SegmentPatch = Partial<Pick<SegmentRecord, 'name' | 'description' | 'query' | 'rule'>>;
export type ComputedTraitPatch = Partial<Pick<ComputedTraitRecord, 'name' | 'definition'>>;

/** One entry of the audience-events feed: the internal `Audience Entered` / `Audience Exited` events. */
export interface AudienceEvent {
  id: number;
  segmentId: string;
  profileId: string;
  kind: 'entered' | 'exited';
  at: number;
  /** What caused it: `event`, `timer`, `merge`, `backfill` (an edited definition), `profile_gone`. */
  cause: string;
}

export interface Member {
  profileId: string;
  since: number;
}

/** A new event as the runner follows them (in seq order). */
export interface FollowedEvent {
  seq: number;
  ident: string | null;
  type: string;
  name: string | null;
  /** Event time, ms. */
  ts: number;
  restricted: boolean;
  /**
   * The stored payload: always of identify events (to know which traits changed), and of the events a
   * history filter passed to `eventsAfter` reads properties of; null otherwise.
   */
  payload: string | null;
}

/**
 * Every event with a seq in (`after`, `upTo`], as `eventsAfter` read them on the same snapshot (with the
 * history filter's payloads): `loadProfiles` takes a cached history's new events from them instead of
 * reading them again, and reads the rest of a history only up to `after`.
 */
export interface RecentEvents {
  after: number;
  upTo: number;
  events: readonly FollowedEvent[];
}

export interface FollowedMerge {
  id: number;
  kind: string;
  profileId: string;
  otherIds: string[];
}

/** A profile as the engine reads it. */
export interface StoredAudienceProfile {
  profileId: string;
  /** False when no live profile has this id (absorbed by a merge, or erased). */
  exists: boolean;
  traits: Record<string, unknown>;
  /** Non-restricted events of every identifier the profile holds. */
  events: ProfileEvent[];
  memberships: Map<string, number>;
  computed: Record<string, unknown>;
  /** Pending timers: target key (`segment:<id>`, `trait:<id>`) → due instant. */
  timers: Map<string, number>;
  /** Evaluated before (with trigger `all`): later evaluations can be incremental. */
  known: boolean;
}

/** What applying one profile's plan writes. */
export interface ProfileWrite {
  profileId: string;
  entered: Array<{ segmentId: string; at: number }>;
  exited: Array<{ segmentId: string; at: number }>;
  /** Segments whose changes go to the feed (those that have been live). */
  publish: ReadonlySet<string>;
  cause: string;
  computedSet: Array<{ key: string; value: unknown }>;
  computedDeleted: string[];
  timers: Array<{ target: string; dueAt: number | null }>;
  /** Mark the profile known (evaluated in full once). */
  known: boolean;
  at: number;
}

/** Which events of a profile's history to load. */
export interface HistoryFilter {
  /** Only events of these names; null: all of them. */
  eventNames: ReadonlySet<string> | null;
  /** Load their properties (default true); without, every event has empty properties. */
  properties?: boolean;
}

/** Reads shared by the runner's transactions and the service (preview). */
export interface AudienceReader {
  /** Live profile ids after `afterId`, in id order. */
  profileIdsAfter(afterId: string, limit: number): Promise<string[]>;
  countProfiles(): Promise<number>;
  /**
   * The state of these profiles, each once (missing ids come back with `exists: false`). With a
   * filter, a profile's history holds only what the compiled audiences read (`historyNeeds`): loading
   * the rest would only cost time. With `recent` (the runner, on the snapshot it read them on), a history
   * holds the events up to `recent.upTo` only; without, up to the newest.
   */
  loadProfiles(ids: readonly string[], history?: HistoryFilter, recent?: RecentEvents): Promise<Map<string, StoredAudienceProfile>>;
  /**
   * Run a read-only query compiled by the SQL fast path (`src/segments/sql/`, for this backend): its
   * `profile_id` column, and its `unsure` column when it has one (false otherwise).
   */
  selectProfiles(query: CompiledProfileQuery): Promise<Array<{ profileId: string; unsure: boolean }>>;
  /**
   * Run a history query compiled by the SQL fast path (its `HistoryQuery`): per row the profile id and,
   * for each of its `columns` lists (`h1` … `hN`), the event times it holds, in no particular order.
   */
  selectHistories(query: CompiledProfileQuery, columns: number): Promise<Array<{ profileId: string; times: number[][] }>>;
  /** The last stored event's seq and the last merge log id (0 when none): where a snapshot stands. */
  latestPositions(): Promise<{ eventSeq: number; mergeId: number }>;
}

/** SQL text with `?` placeholders and its parameters, built by the fast-path compiler. */
export interface CompiledProfileQuery {
  sql: string;
  params: readonly unknown[];
}

/**
 * What the runner reads to decide a real-time step, all from one snapshot. The runner reads through a
 * view outside any write transaction (`AudienceLease.read`), evaluates, and only then takes the write
 * lock to write what it decided (`AudienceLease.run`): on SQLite the processor's commits never wait while
 * the runner loads histories and evaluates.
 */
export interface AudienceView extends AudienceReader {
  cursor(name: string): Promise<number>;
  /** The definitions version (see `SegmentStore.definitionsVersion`), as of this snapshot. */
  definitionsVersion(): Promise<number>;
  /** Every segment and computed trait, deleted ones included (the runner purges them). */
  listSegments(): Promise<SegmentRecord[]>;
  listComputedTraits(): Promise<ComputedTraitRecord[]>;
  /** Events after `seq`, in seq order; with a history filter, the payloads of the events it reads properties of too. */
  eventsAfter(seq: number, limit: number, history?: HistoryFilter): Promise<FollowedEvent[]>;
  /** How many events there are after `seq`, and the last one's seq (`seq` when none): following them without reading them. */
  eventsSpan(seq: number): Promise<{ count: number; last: number }>;
  mergesAfter(id: number, limit: number): Promise<FollowedMerge[]>;
  /** Identifier key → the live profile holding it. */
  profilesOfIdents(idents: readonly string[]): Promise<Map<string, string>>;
  /** Timers due at or before `now`, earliest first; they stay until `removeTimers`. */
  dueTimers(now: number, limit: number): Promise<TimerRow[]>;
  /** Profiles in the id range (`afterId`, `upToId`] (no upper bound when null) that are members of, or hold a timer for, these segments. */
  holdersOf(segmentIds: readonly string[], afterId: string, upToId: string | null): Promise<string[]>;
}

/** One runner transaction: everything it reads and writes commits together, or not at all. */
export interface AudienceTx extends AudienceView {
  setCursor(name: string, value: number): Promise<void>;
  job(): Promise<string | null>;
  setJob(body: string | null): Promise<void>;
  /** Remove these timers, each only while it is still due at the same instant. */
  removeTimers(timers: readonly TimerRow[]): Promise<void>;
  /** Which of these profile ids are live profiles now. */
  existingProfiles(ids: readonly string[]): Promise<Set<string>>;
  apply(writes: readonly ProfileWrite[]): Promise<void>;
  /** Remove everything the runner keeps for a profile that no longer exists; its memberships exit (published ones to the feed). */
  dropProfile(profileId: string, at: number, publish: ReadonlySet<string>, cause: string): Promise<void>;
  setProgress(kind: 'segment' | 'trait', id: string, generation: number, progress: number): Promise<void>;
  /** The backfill of `generation` is done: it becomes the live definition (no-op if edited since). */
  goLive(kind: 'segment' | 'trait', id: string, generation: number, at: number): Promise<boolean>;
  fail(kind: 'segment' | 'trait', id: string, generation: number, error: string, at: number): Promise<void>;
  /** Remove a deleted segment's rows (memberships, timers, sizes) and then its record; no exits are published. */
  purgeSegment(id: string): Promise<void>;
  /** Remove a deleted computed trait's timers and its record; values under `dropKey` (when no other trait uses it) go too. */
  purgeComputedTrait(id: string, dropKey: string | null): Promise<void>;
  /** Forget computed values under keys no trait writes any more. */
  dropComputedKey(key: string): Promise<void>;
  /** Record the current size of these segments in the size history. */
  recordSizes(segmentIds: readonly string[], at: number): Promise<void>;
}

/** The runner's right to write: on PostgreSQL a session advisory lock, so one runner is active per schema. */
export interface AudienceLease {
  run<T>(work: (tx: AudienceTx) => Promise<T>): Promise<T>;
  /**
   * Read-only work on one consistent snapshot, holding no write lock (see `AudienceView`). Profile
   * histories loaded through it are kept between calls (`history-cache.ts`), unless `cached` is false
   * (a backfill reads each profile once: keeping its histories would only push out the active ones).
   */
  read<T>(work: (view: AudienceView) => Promise<T>, options?: { cached?: boolean }): Promise<T>;
  /** The earliest pending timer, or null. */
  nextDueAt(): Promise<number | null>;
  /** The definitions version (see `SegmentStore.definitionsVersion`). */
  definitionsVersion(): Promise<number>;
  release(): Promise<void>;
}

export interface SegmentStore extends AudienceReader {
  readonly backend: 'sqlite' | 'postgres';
  migrate(): Promise<void>;

  /** False when the id is taken (by a segment, or one deleted and not yet removed). */
  createSegment(record: SegmentRecord): Promise<boolean>;
  getSegment(id: string): Promise<SegmentRecord | null>;
  /** Every segment not deleted, oldest first. */
  listSegments(): Promise<SegmentRecord[]>;
  /** Change a definition: a new rule bumps the generation and sets the status back to computing. */
  updateSegment(id: string, patch: SegmentPatch, at: number): Promise<SegmentRecord | null>;
  /** Mark deleted (the runner removes its rows). False when there was no such segment. */
  deleteSegment(id: string, at: number): Promise<boolean>;

  createComputedTrait(record: ComputedTraitRecord): Promise<boolean>;
  getComputedTrait(id: string): Promise<ComputedTraitRecord | null>;
  listComputedTraits(): Promise<ComputedTraitRecord[]>;
  updateComputedTrait(id: string, patch: ComputedTraitPatch, at: number): Promise<ComputedTraitRecord | null>;
  deleteComputedTrait(id: string, at: number): Promise<boolean>;

  /** Bumped by every definition change: the runner reloads when it moves. */
  definitionsVersion(): Promise<number>;

  segmentSize(id: string): Promise<number>;
  members(segmentId: string, page: { afterProfileId?: string; limit: number }): Promise<Member[]>;
  sizeHistory(segmentId: string, page: { limit: number }): Promise<Array<{ at: number; size: number }>>;
  /** Segments a profile (or the profile a merged-away id redirects to) is in, among those that have been live. */
  segmentsOf(profileId: string): Promise<string[]>;
  computedOf(profileId: string): Promise<Record<string, unknown>>;
  audienceEvents(page: { afterId: number; limit: number; segmentId?: string }): Promise<AudienceEvent[]>;
  /**
   * How far the runner's events cursor (`cursor`, in `audience_cursors`) is behind the stored events: how
   * many seqs after it (deleted events still count), and when the oldest event after it arrived (ms;
   * null when none): for `/metrics`.
   */
  runnerBacklog(cursor: string): Promise<{ events: number; oldestReceivedAt: number | null }>;

  /** Take the runner's lease; null when another runner holds it (stand by and try again later). */
  acquireLease(): Promise<AudienceLease | null>;
  close(): Promise<void>;
}
