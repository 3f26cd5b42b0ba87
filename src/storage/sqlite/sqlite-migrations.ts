/** Schema migrations for the SQLite backend, applied in order; each runs once, recorded in schema_migrations. */
export const SQLITE_MIGRATIONS: ReadonlyArray<{ id: number; name: string; sql: string }> = [
  {
    id: 1,
    name: 'foundation',
    sql: `
      CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE sources (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        write_key TEXT NOT NULL UNIQUE,
        enabled INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE cursors (name TEXT PRIMARY KEY, seq INTEGER NOT NULL);
      -- Events are appended in arrival order; seq is the arrival order and the paging cursor.
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        source_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        type TEXT NOT NULL,
        name TEXT,
        user_id TEXT,
        anonymous_id TEXT,
        ts INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        payload TEXT NOT NULL
      );
      CREATE INDEX events_by_name_ts ON events (type, name, ts);
      -- One identifier per event (userId, else anonymousId) is enough to find a profile's timeline:
      -- every identifier of the event belongs to the same profile.
      CREATE INDEX events_by_ident ON events (coalesce('u:' || user_id, 'a:' || anonymous_id), ts);
      -- De-duplication keys: (source, messageId) seen within the window.
      CREATE TABLE dedup (
        source_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        seen_at INTEGER NOT NULL,
        PRIMARY KEY (source_id, message_id)
      ) WITHOUT ROWID;
      CREATE INDEX dedup_by_seen ON dedup (seen_at);
      CREATE TABLE failed_events (
        id INTEGER PRIMARY KEY,
        source_id TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        message_id TEXT,
        payload TEXT NOT NULL
      );
      CREATE INDEX failed_by_source ON failed_events (source_id, id);
    `,
  },
];
