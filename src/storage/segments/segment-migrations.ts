/**
 * The segment tables, for both backends, applied in order and recorded in `segment_schema_migrations`
 * (kept apart from the store's own migrations so the two lists evolve independently). The DDL is
 * written once; each backend supplies its column types.
 */
export interface SegmentDdlTypes {
  /** Millisecond instants, sequence numbers, counts. */
  int: string;
  /** An auto-numbered primary key. */
  serial: string;
  real: string;
  bool: string;
  /** Table option for tables keyed by a composite primary key (`WITHOUT ROWID` on SQLite). */
  keyed: string;
  /** Statements creating triggers that run `statement` whenever events are deleted or their `ident` changes. */
  onEventsRemoved: (statement: string) => string[];
  /**
   * Statements creating triggers that run `statement` whenever rows of `tables` are inserted, updated
   * or deleted, except by the runner's tracked write transactions (see `audience-state-cache.ts`).
   */
  onAudienceWrites: (tables: readonly string[], statement: string) => string[];
}

export interface SegmentMigration {
  id: number;
  name: string;
  /** One text of `;`-separated statements, or a list of statements run as they are (trigger bodies hold `;`). */
  sql: (t: SegmentDdlTypes) => string | string[];
}

export const SEGMENT_MIGRATIONS: readonly SegmentMigration[] = [
  {
    id: 1,
    name: 'segments and audiences',
    sql: (t) => `
      -- Definitions. rule / definition is the one being computed or live; live_rule / live_definition the one
      -- the runner evaluates in real time (null until first live). generation is bumped by every edit.
      CREATE TABLE segments (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        description TEXT,
        query TEXT,
        rule TEXT NOT NULL,
        live_rule TEXT,
        generation ${t.int} NOT NULL,
        status TEXT NOT NULL,
        progress ${t.real} NOT NULL,
        error TEXT,
        deleted ${t.bool} NOT NULL,
        created_at ${t.int} NOT NULL,
        updated_at ${t.int} NOT NULL,
        live_at ${t.int}
      );
      CREATE TABLE computed_traits (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        definition TEXT NOT NULL,
        live_definition TEXT,
        generation ${t.int} NOT NULL,
        status TEXT NOT NULL,
        progress ${t.real} NOT NULL,
        error TEXT,
        deleted ${t.bool} NOT NULL,
        created_at ${t.int} NOT NULL,
        updated_at ${t.int} NOT NULL,
        live_at ${t.int}
      );
      -- Runner cursors (events seq, merge log id) and the definitions version the service bumps.
      CREATE TABLE audience_cursors (name TEXT PRIMARY KEY, value ${t.int} NOT NULL);
      -- The backfill in progress (JSON), so a restart resumes it.
      CREATE TABLE audience_jobs (name TEXT PRIMARY KEY, body TEXT NOT NULL);
      -- The primary key pages members by segment; the index finds a profile's segments.
      CREATE TABLE segment_memberships (
        segment_id TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        since ${t.int} NOT NULL,
        PRIMARY KEY (segment_id, profile_id)
      )${t.keyed};
      CREATE INDEX memberships_by_profile ON segment_memberships (profile_id);
      CREATE TABLE segment_sizes (segment_id TEXT PRIMARY KEY, size ${t.int} NOT NULL);
      CREATE TABLE segment_size_history (
        segment_id TEXT NOT NULL,
        at ${t.int} NOT NULL,
        size ${t.int} NOT NULL,
        PRIMARY KEY (segment_id, at)
      )${t.keyed};
      -- The audience-events feed (Audience Entered / Audience Exited), read by id.
      CREATE TABLE audience_events (
        id ${t.serial},
        segment_id TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        at ${t.int} NOT NULL,
        cause TEXT NOT NULL
      );
      CREATE INDEX audience_events_by_segment ON audience_events (segment_id, id);
      CREATE TABLE computed_values (
        profile_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (profile_id, key)
      )${t.keyed};
      CREATE INDEX computed_values_by_key ON computed_values (key);
      -- Durable timers: at most one per (profile, target); taken in due_at order.
      CREATE TABLE audience_timers (
        profile_id TEXT NOT NULL,
        target TEXT NOT NULL,
        due_at ${t.int} NOT NULL,
        PRIMARY KEY (profile_id, target)
      )${t.keyed};
      CREATE INDEX audience_timers_by_due ON audience_timers (due_at);
      CREATE INDEX audience_timers_by_target ON audience_timers (target);
      -- Profiles the runner has evaluated in full once (later triggers are incremental).
      CREATE TABLE audience_profiles (profile_id TEXT PRIMARY KEY)${t.keyed};
    `,
  },
  {
    id: 2,
    name: 'event removals counter',
    // The runner's history cache (`history-cache.ts`) trusts a cached history while this number and the
    // profile's identifiers are unchanged: events are otherwise only appended, with ever higher seqs.
    // Kept by the database itself, so no code path that deletes or re-points events can forget it.
    sql: (t) => [
      `CREATE TABLE event_removals (id INTEGER PRIMARY KEY, n ${t.int} NOT NULL)`,
      'INSERT INTO event_removals (id, n) VALUES (1, 0)',
      ...t.onEventsRemoved('UPDATE event_removals SET n = n + 1 WHERE id = 1'),
    ],
  },
  {
    id: 3,
    name: 'memberships by profile, covering',
    // The runner reads every touched profile's memberships (segment and since) by profile id. Through an
    // index of the profile id alone, each row was one more seek into the table's primary key: 800
    // profiles × 6 memberships took ~45 ms on SQLite, ~7 ms with the index holding both columns.
    sql: () => [
      'DROP INDEX memberships_by_profile',
      'CREATE INDEX memberships_by_profile ON segment_memberships (profile_id, segment_id, since)',
    ],
  },
  {
    id: 4,
    name: 'audience writes counter',
    // The runner keeps what it wrote per profile between steps (`audience-state-cache.ts`) while this
    // number is unchanged: kept by the database itself, so no other writer (an erasure, a tool) can be missed.
    sql: (t) => [
      // runner: 1 only inside the runner's own write transactions on SQLite (never committed so).
      `CREATE TABLE audience_writes (id INTEGER PRIMARY KEY, n ${t.int} NOT NULL, runner ${t.int} NOT NULL DEFAULT 0)`,
      'INSERT INTO audience_writes (id, n, runner) VALUES (1, 0, 0)',
      ...t.onAudienceWrites(
        ['segment_memberships', 'computed_values', 'audience_timers', 'audience_profiles'],
        'UPDATE audience_writes SET n = n + 1 WHERE id = 1',
      ),
    ],
  },
  {
    id: 5,
    name: 'timers not indexed by target',
    // The index served only the purge of a deleted segment's or trait's timers and the backfill's search
    // for a segment's holders, both rare and both fine with a scan (the backfill's is a range of the
    // primary key, (profile_id, target)). Every timer written or removed paid for it: its entries are
    // random within a target (profile ids), ~20% of the pages each real-time step of the runner wrote.
    sql: () => ['DROP INDEX audience_timers_by_target'],
  },
  {
    id: 6,
    name: 'computed values not indexed by key',
    // The index served only the removal of a deleted computed trait's values (now a scan of the table, as
    // rare as deleting a trait). Every computed value the runner wrote for the first time, or removed,
    // paid for an entry in it at a random place: with 20 computed traits on the demo mix, the runner's
    // upserts of values, its largest write (~1.4 an event), went from ~10 to ~5–8 µs each without it.
    sql: () => ['DROP INDEX computed_values_by_key'],
  },
];
