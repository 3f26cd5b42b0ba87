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
];
