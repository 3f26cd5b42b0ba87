/**
 * The embedded store: one SQLite file in WAL mode. better-sqlite3 is synchronous, so every method
 * does its work at once and returns a settled promise to satisfy the async port.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import type {
  CommitResult,
  EventFilter,
  FailedEventFilter,
  ProcessedBatch,
  Source,
  Store,
  StoredEvent,
  StoredFailedEvent,
} from '../store.ts';
import { toFailed, toSource, toStoredEvent, type EventRow, type FailedRow, type SourceRow } from '../rows.ts';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.ts';

export class SqliteStore implements Store {
  readonly backend = 'sqlite' as const;
  readonly db: Database.Database;
  private statements: ReturnType<SqliteStore['prepare']> | undefined;

  constructor(readonly file: string) {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a process crash; the durable log (synchronous=FULL) covers power loss,
    // because the processor's cursor only moves after a commit here.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('cache_size = -131072');
    this.db.pragma('secure_delete = ON');
  }

  private prepare() {
    const db = this.db;
    return {
      insertEvent: db.prepare(
        'INSERT INTO events (source_id, message_id, type, name, user_id, anonymous_id, ts, received_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      insertDedup: db.prepare('INSERT OR IGNORE INTO dedup (source_id, message_id, seen_at) VALUES (?, ?, ?)'),
      insertFailed: db.prepare(
        'INSERT INTO failed_events (source_id, received_at, reason, detail, message_id, payload) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      setCursor: db.prepare('INSERT INTO cursors (name, seq) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET seq = excluded.seq'),
    };
  }

  private get stmts() {
    this.statements ??= this.prepare();
    return this.statements;
  }

  async migrate(): Promise<void> {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const done = new Set((this.db.prepare('SELECT id FROM schema_migrations').all() as Array<{ id: number }>).map((r) => r.id));
    for (const m of SQLITE_MIGRATIONS) {
      if (done.has(m.id)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)').run(m.id, m.name, Date.now());
      })();
    }
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async createSource(s: Source): Promise<void> {
    this.db
      .prepare('INSERT INTO sources (id, name, write_key, enabled, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(s.id, s.name, s.writeKey, s.enabled ? 1 : 0, s.createdAt);
  }

  async listSources(): Promise<Source[]> {
    return (this.db.prepare('SELECT * FROM sources ORDER BY created_at, id').all() as SourceRow[]).map(toSource);
  }

  async getSource(id: string): Promise<Source | null> {
    const row = this.db.prepare('SELECT * FROM sources WHERE id = ?').get(id) as SourceRow | undefined;
    return row ? toSource(row) : null;
  }

  async updateSource(id: string, patch: Partial<Pick<Source, 'name' | 'writeKey' | 'enabled'>>): Promise<Source | null> {
    const current = await this.getSource(id);
    if (!current) return null;
    const next = { ...current, ...patch };
    this.db
      .prepare('UPDATE sources SET name = ?, write_key = ?, enabled = ? WHERE id = ?')
      .run(next.name, next.writeKey, next.enabled ? 1 : 0, id);
    return next;
  }

  async getSetting(key: string): Promise<string | null> {
    const row = this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  async setSetting(key: string, value: string): Promise<void> {
    this.db
      .prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value')
      .run(key, value);
  }

  async commitBatch(batch: ProcessedBatch): Promise<CommitResult> {
    const s = this.stmts;
    let stored = 0;
    let duplicates = 0;
    this.db.transaction(() => {
      for (const { event: e, payload } of batch.events) {
        if (s.insertDedup.run(e.sourceId, e.messageId, batch.now).changes === 0) {
          duplicates++;
          continue;
        }
        s.insertEvent.run(e.sourceId, e.messageId, e.type, e.name, e.userId, e.anonymousId, e.timestamp, e.receivedAt, payload);
        stored++;
      }
      for (const f of batch.failed) s.insertFailed.run(f.sourceId, f.receivedAt, f.reason, f.detail, f.messageId, f.payload);
      s.setCursor.run(batch.cursorName, batch.cursorSeq);
    })();
    return { stored, duplicates };
  }

  async readCursor(name: string): Promise<number> {
    const row = this.db.prepare('SELECT seq FROM cursors WHERE name = ?').get(name) as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  async expireDedupKeys(olderThan: number): Promise<number> {
    return this.db.prepare('DELETE FROM dedup WHERE seen_at < ?').run(olderThan).changes;
  }

  async listEvents(f: EventFilter): Promise<StoredEvent[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      where.push(sql);
      params.push(v);
    };
    if (f.sourceId !== undefined) add('source_id = ?', f.sourceId);
    if (f.type !== undefined) add('type = ?', f.type);
    if (f.name !== undefined) add('name = ?', f.name);
    if (f.userId !== undefined) add('user_id = ?', f.userId);
    if (f.anonymousId !== undefined) add('anonymous_id = ?', f.anonymousId);
    if (f.from !== undefined) add('ts >= ?', f.from);
    if (f.to !== undefined) add('ts < ?', f.to);
    if (f.beforeSeq !== undefined) add('seq < ?', f.beforeSeq);
    if (f.afterSeq !== undefined) add('seq > ?', f.afterSeq);
    const order = f.afterSeq !== undefined ? 'ASC' : 'DESC';
    const sql = `SELECT * FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq ${order} LIMIT ?`;
    return (this.db.prepare(sql).all(...params, f.limit) as EventRow[]).map(toStoredEvent);
  }

  async countEvents(): Promise<number> {
    return (this.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  }

  async listFailedEvents(f: FailedEventFilter): Promise<StoredFailedEvent[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.sourceId !== undefined) {
      where.push('source_id = ?');
      params.push(f.sourceId);
    }
    if (f.reason !== undefined) {
      where.push('reason = ?');
      params.push(f.reason);
    }
    if (f.beforeId !== undefined) {
      where.push('id < ?');
      params.push(f.beforeId);
    }
    const sql = `SELECT * FROM failed_events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...params, f.limit) as FailedRow[]).map(toFailed);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
