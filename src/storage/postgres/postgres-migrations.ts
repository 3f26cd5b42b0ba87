/**
 * Schema migrations for the PostgreSQL backend, applied in order; each runs once, recorded in
 * schema_migrations. The schema mirrors `sqlite-migrations.ts` table for table, so both backends answer
 * the same contract.
 */
export const POSTGRES_MIGRATIONS: ReadonlyArray<{ id: number; name: string; sql: string }> = [
  {
    id: 1,
    name: 'foundation',
    sql: `
      CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE sources (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        write_key TEXT NOT NULL UNIQUE,
        enabled BOOLEAN NOT NULL DEFAULT TRUE,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE cursors (name TEXT PRIMARY KEY, seq BIGINT NOT NULL);
      -- Events are appended in arrival order; seq is the arrival order and the paging cursor.
      -- payload is TEXT, not JSONB: JSONB rejects \\u0000 escapes, reorders keys and drops duplicate ones,
      -- while the payload must read back exactly as the processor wrote it, as it does on SQLite.
      CREATE TABLE events (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        source_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        type TEXT NOT NULL,
        name TEXT,
        user_id TEXT,
        anonymous_id TEXT,
        ts BIGINT NOT NULL,
        received_at BIGINT NOT NULL,
        payload TEXT NOT NULL
      );
      CREATE INDEX events_by_name_ts ON events (type, name, ts);
      -- One identifier per event (userId, else anonymousId) is enough to find a profile's timeline:
      -- every identifier of the event belongs to the same profile.
      CREATE INDEX events_by_ident ON events ((coalesce('u:' || user_id, 'a:' || anonymous_id)), ts);
      -- De-duplication keys: (source, messageId) seen within the window.
      CREATE TABLE dedup (
        source_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        seen_at BIGINT NOT NULL,
        PRIMARY KEY (source_id, message_id)
      );
      CREATE INDEX dedup_by_seen ON dedup (seen_at);
      CREATE TABLE failed_events (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        source_id TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        message_id TEXT,
        payload TEXT NOT NULL
      );
      CREATE INDEX failed_by_source ON failed_events (source_id, id);
    `,
  },
  {
    id: 2,
    name: 'identity',
    sql: `
      -- An event belongs to whichever profile holds the identifier it is attributed to (events.ident):
      -- merges and unmerges move identifiers, never events.
      ALTER TABLE events ADD COLUMN ident TEXT;
      DROP INDEX events_by_ident;
      CREATE INDEX events_by_ident ON events (ident, seq);
      CREATE TABLE profiles (
        id TEXT PRIMARY KEY,
        first_seen BIGINT NOT NULL,
        merge_count INTEGER NOT NULL,
        absorbed TEXT NOT NULL,
        traits TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE TABLE profile_redirects (old_id TEXT PRIMARY KEY, profile_id TEXT NOT NULL);
      CREATE INDEX redirects_by_profile ON profile_redirects (profile_id);
      CREATE TABLE identities (
        key TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        value TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        first_seen BIGINT NOT NULL,
        fact_seq BIGINT NOT NULL,
        event_message_id TEXT NOT NULL,
        source_id TEXT NOT NULL
      );
      CREATE INDEX identities_by_profile ON identities (profile_id);
      CREATE INDEX identities_by_key_prefix ON identities (key text_pattern_ops);
      CREATE TABLE identity_facts (seq BIGINT PRIMARY KEY, kind TEXT NOT NULL, at BIGINT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE fact_keys (key TEXT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (key, seq));
      CREATE TABLE merge_log (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at BIGINT NOT NULL,
        kind TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        other_ids TEXT NOT NULL,
        reason TEXT NOT NULL,
        fact_seq BIGINT NOT NULL,
        actor TEXT NOT NULL
      );
      CREATE INDEX merge_log_by_profile ON merge_log (profile_id, id);
      CREATE TABLE merge_log_others (other_id TEXT NOT NULL, log_id BIGINT NOT NULL, PRIMARY KEY (other_id, log_id));
      CREATE TABLE identity_warnings (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at BIGINT NOT NULL,
        code TEXT NOT NULL,
        detail TEXT NOT NULL,
        identifier TEXT,
        profile_id TEXT,
        source_id TEXT,
        message_id TEXT
      );
      CREATE INDEX warnings_by_profile ON identity_warnings (profile_id, id);
      CREATE TABLE accounts (id TEXT PRIMARY KEY, traits TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
      CREATE TABLE account_members (
        account_id TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        since BIGINT NOT NULL,
        PRIMARY KEY (account_id, profile_id)
      );
      CREATE INDEX members_by_profile ON account_members (profile_id);
      -- What the processor answered to an operator command (merge, unmerge, …), by request id.
      CREATE TABLE command_results (request_id TEXT PRIMARY KEY, result TEXT NOT NULL, at BIGINT NOT NULL);
      CREATE TABLE trait_catalogue (
        name TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        example TEXT,
        category TEXT NOT NULL,
        pii BOOLEAN NOT NULL,
        first_seen BIGINT NOT NULL,
        last_seen BIGINT NOT NULL,
        edited BOOLEAN NOT NULL DEFAULT FALSE
      );
    `,
  },
  {
    id: 3,
    name: 'restricted events',
    sql: `ALTER TABLE events ADD COLUMN restricted BOOLEAN NOT NULL DEFAULT FALSE;`,
  },
  {
    id: 4,
    name: 'covering event index',
    // Segment backfill and preview count events by name and time per profile: with ident and restricted
    // in the index they never read the (large) event rows. Replaces the (type, name, ts) index.
    sql: `
      DROP INDEX events_by_name_ts;
      CREATE INDEX events_by_name_ts ON events (type, name, ts, ident, restricted);
    `,
  },
  {
    id: 5,
    name: 'events by user id',
    // Listing events by userId: most such events are attributed to that user id (found through
    // events_by_ident); this partial index holds only the others (a refused or blocked user id, an
    // event without an attribution), so it costs the inserts almost nothing (see the store's `listEvents`).
    sql: `CREATE INDEX events_by_user_id_elsewhere ON events (user_id, seq) WHERE user_id IS NOT NULL AND ident IS DISTINCT FROM ('user_id:' || user_id);`,
  },
];
