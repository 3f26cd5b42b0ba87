/**
 * The embedded store: one SQLite file in WAL mode. better-sqlite3 is synchronous, so every method
 * does its work at once and returns a settled promise to satisfy the async port.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import type {
  BatchTx,
  CommitResult,
  EventFilter,
  EventToStore,
  FailedEventFilter,
  ProcessedBatch,
  ProfileSearch,
  Source,
  Store,
  StoredAccount,
  StoredEventWithIdent,
  StoredFailedEvent,
  StoredIdentityWarning,
  StoredMergeLogEntry,
  StoredProfile,
  TraitCatalogueEntry,
} from '../store.ts';
import { CursorMovedError } from '../store.ts';
import { SqliteIdentityTables } from './sqlite-identity.ts';
import { sqliteTransaction } from './sqlite-transaction.ts';
import { WRITER_FALLBACK_PAGES } from './wal-checkpointer.ts';
import { datasyncWal } from './wal-sync.ts';
import {
  CONSENT_INBOX_COLUMNS,
  consentInboxValues,
  EVENT_COLUMNS,
  eventValues,
  toFailed,
  toSource,
  toStoredEvent,
  type EventRow,
  type FailedRow,
  type SourceRow,
} from '../rows.ts';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.ts';

/** The `cursors` row holding the highest event seq ever given (see `writeSync`). */
const EVENT_SEQ_MARK = 'events:last_seq';

export class SqliteStore implements Store {
  readonly backend = 'sqlite' as const;
  readonly commitsElsewhere = false;
  readonly db: Database.Database;
  private statements: ReturnType<SqliteStore['prepare']> | undefined;
  private readonly identity: SqliteIdentityTables;
  private insertInbox: Database.Statement | undefined;

  constructor(readonly file: string) {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a process crash; for power loss, the durable log (synced before an
    // append is acknowledged) keeps every entry until `syncCommitted` has covered the commit that stored it.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('cache_size = -131072');
    this.db.pragma('secure_delete = ON');
    this.db.pragma(`wal_autocheckpoint = ${WRITER_FALLBACK_PAGES}`);
    this.identity = new SqliteIdentityTables(this.db);
  }

  private prepare() {
    const db = this.db;
    return {
      insertEvent: db.prepare(`INSERT INTO events (seq, ${EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      lastEventSeq: db.prepare(
        `SELECT max(coalesce((SELECT max(seq) FROM events), 0), coalesce((SELECT seq FROM cursors WHERE name = '${EVENT_SEQ_MARK}'), 0))`,
      ),
      insertDedup: db.prepare('INSERT OR IGNORE INTO dedup (source_id, message_id, seen_at) VALUES (?, ?, ?)'),
      nextFactSeq: db.prepare('SELECT coalesce(max(seq), 0) + 1 FROM identity_facts').pluck(),
      insertFailed: db.prepare(
        'INSERT INTO failed_events (source_id, received_at, reason, detail, message_id, payload) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      setCursor: db.prepare('INSERT INTO cursors (name, seq) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET seq = excluded.seq'),
      moveCursor: db.prepare(
        'INSERT INTO cursors (name, seq) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET seq = excluded.seq WHERE cursors.seq = ?',
      ),
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
    return this.runBatch(async (tx) => {
      const fresh = await tx.claim(batch.events, batch.now);
      const events = batch.events.filter((_, i) => fresh[i]);
      await tx.write({ ...batch, events });
      return { stored: events.length, duplicates: batch.events.length - events.length };
    });
  }

  private claimSync(events: readonly EventToStore[], now: number): boolean[] {
    const insert = this.stmts.insertDedup;
    return events.map(({ event: e }) => insert.run(e.sourceId, e.messageId, now).changes === 1);
  }

  private writeSync(batch: ProcessedBatch): void {
    const s = this.stmts;
    // The cursor first: a batch whose cursor another processor moved fails before writing anything.
    if (batch.cursorFrom === undefined) s.setCursor.run(batch.cursorName, batch.cursorSeq);
    else if (s.moveCursor.run(batch.cursorName, batch.cursorSeq, batch.cursorFrom).changes === 0)
      throw new CursorMovedError(batch.cursorName, batch.cursorFrom);
    if (batch.events.length > 0) {
      // Seqs are given here, never reused: SQLite would give max(seq) + 1, the seq of a deleted newest
      // event (erasure, retention) again, and whoever follows events by seq had already passed it.
      let seq = s.lastEventSeq.pluck().get() as number;
      for (const e of batch.events) {
        const values = eventValues(e);
        values[values.length - 1] = e.restricted === true ? 1 : 0;
        s.insertEvent.run(++seq, ...values);
      }
      s.setCursor.run(EVENT_SEQ_MARK, seq);
    }
    for (const f of batch.failed) s.insertFailed.run(f.sourceId, f.receivedAt, f.reason, f.detail, f.messageId, f.payload);
    if (batch.identity) this.identity.write(batch.identity);
    if (batch.consentInbox !== undefined && batch.consentInbox.length > 0) {
      // Prepared on first use: the table belongs to the privacy module's migrations.
      this.insertInbox ??= this.db.prepare(
        `INSERT INTO privacy_consent_inbox (${CONSENT_INBOX_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING`,
      );
      for (const r of batch.consentInbox) this.insertInbox.run(...consentInboxValues(r, batch));
    }
    for (const r of batch.commandResults ?? [])
      this.db
        .prepare('INSERT OR REPLACE INTO command_results (request_id, result, at) VALUES (?, ?, ?)')
        .run(r.requestId, JSON.stringify(r.result), batch.now);
  }

  async runBatch<T>(work: (tx: BatchTx) => Promise<T>): Promise<T> {
    const id = this.identity;
    const tx: BatchTx = {
      claim: async (events, now) => this.claimSync(events, now),
      lock: async () => undefined, // BEGIN IMMEDIATE took the write lock
      write: async (batch) => this.writeSync(batch),
      profilesHolding: async (keys) => id.profilesHolding(keys),
      profilesById: async (ids) => id.profilesById(ids),
      factsMentioning: async (keys) => id.factsMentioning(keys),
      identifyEventsOf: async (keys) => id.identifyEventsOf(keys),
      accounts: async (ids) => id.accounts(ids),
      catalogueNames: async () => id.catalogueNames(),
      allFacts: async () => id.allFacts(),
      nextFactSeq: async () => this.stmts.nextFactSeq.get() as number,
      clearProfiles: async () => id.clearProfiles(),
      writeIdentity: async (w) => id.write(w),
    };
    return sqliteTransaction(this.db, () => work(tx));
  }

  /**
   * An fdatasync of the WAL file on the thread pool (`wal-sync.ts`), holding no lock. Until session 11 a
   * commit ran with `synchronous=FULL` once a second instead: its fsync (65–140 ms at 10k events/s) held
   * the write lock and the processor's thread.
   */
  async syncCommitted(): Promise<void> {
    if (this.file === ':memory:') return;
    await datasyncWal(this.file);
  }

  async readCursor(name: string): Promise<number> {
    const row = this.db.prepare('SELECT seq FROM cursors WHERE name = ?').get(name) as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  async expireDedupKeys(olderThan: number): Promise<number> {
    return this.db.prepare('DELETE FROM dedup WHERE seen_at < ?').run(olderThan).changes;
  }

  async listEvents(f: EventFilter): Promise<StoredEventWithIdent[]> {
    const { sql, params } = eventListQuery(f);
    return (this.db.prepare(sql).all(...params) as EventRow[]).map(toStoredEvent);
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

  async commandResult(requestId: string): Promise<unknown> {
    const text = this.db.prepare('SELECT result FROM command_results WHERE request_id = ?').pluck().get(requestId) as string | undefined;
    return text === undefined ? null : (JSON.parse(text) as unknown);
  }

  async getProfile(id: string): Promise<StoredProfile | null> {
    return this.identity.getProfile(id);
  }

  async profileHolding(key: string): Promise<StoredProfile | null> {
    return this.identity.profilesHolding([key])[0] ?? null;
  }

  async searchProfileIds(search: ProfileSearch): Promise<string[]> {
    return this.identity.searchProfileIds(search);
  }

  async countProfiles(): Promise<number> {
    return this.identity.countProfiles();
  }

  async profileEvents(profileId: string, o: { beforeSeq?: number; afterSeq?: number; limit: number }): Promise<StoredEventWithIdent[]> {
    const ascending = o.afterSeq !== undefined;
    const rows = this.db
      .prepare(
        `SELECT * FROM events WHERE ident IN (SELECT key FROM identities WHERE profile_id = ?) AND seq < ? AND seq > ?
         ORDER BY seq ${ascending ? 'ASC' : 'DESC'} LIMIT ?`,
      )
      .all(profileId, o.beforeSeq ?? Number.MAX_SAFE_INTEGER, o.afterSeq ?? 0, o.limit) as EventRow[];
    return rows.map(toStoredEvent);
  }

  async mergeLog(profileIds: readonly string[], limit: number): Promise<StoredMergeLogEntry[]> {
    return this.identity.mergeLog(profileIds, limit);
  }

  async listIdentityWarnings(filter: { profileId?: string; beforeId?: number; limit: number }): Promise<StoredIdentityWarning[]> {
    return this.identity.listWarnings(filter);
  }

  async getAccount(id: string): Promise<StoredAccount | null> {
    return this.identity.getAccount(id);
  }

  async accountMembers(
    accountId: string,
    o: { afterProfileId?: string; limit: number },
  ): Promise<Array<{ profileId: string; since: number }>> {
    return this.identity.accountMembers(accountId, o);
  }

  async accountsOf(profileId: string): Promise<string[]> {
    return this.identity.accountsOf(profileId);
  }

  async listTraitCatalogue(): Promise<TraitCatalogueEntry[]> {
    return this.identity.listCatalogue();
  }

  async updateTraitCatalogue(
    name: string,
    patch: Partial<Pick<TraitCatalogueEntry, 'category' | 'pii'>>,
  ): Promise<TraitCatalogueEntry | null> {
    return this.identity.updateCatalogue(name, patch);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** The query `listEvents` runs for a filter (exported for the test of its plan). */
export function eventListQuery(f: EventFilter): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  // With a userId, the user's events are read through their two indexes (migration 5), and the other
  // filters are kept off the indexes (`+column`): without statistics SQLite would otherwise walk, say,
  // every track event by type, or every event below a seq.
  const off = f.userId !== undefined ? '+' : '';
  const add = (sql: string, v: unknown) => {
    where.push(off + sql);
    params.push(v);
  };
  if (f.sourceId !== undefined) add('source_id = ?', f.sourceId);
  if (f.type !== undefined) add('type = ?', f.type);
  if (f.name !== undefined) add('name = ?', f.name);
  if (f.userId !== undefined) {
    where.push(`((ident = ? AND user_id = ?) OR (user_id = ? AND ident IS NOT ('user_id:' || user_id)))`);
    params.push(`user_id:${f.userId}`, f.userId, f.userId);
  }
  if (f.anonymousId !== undefined) add('anonymous_id = ?', f.anonymousId);
  if (f.from !== undefined) add('ts >= ?', f.from);
  if (f.to !== undefined) add('ts < ?', f.to);
  if (f.beforeSeq !== undefined) add('seq < ?', f.beforeSeq);
  if (f.afterSeq !== undefined) add('seq > ?', f.afterSeq);
  const order = f.afterSeq !== undefined ? 'ASC' : 'DESC';
  params.push(f.limit);
  return { sql: `SELECT * FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq ${order} LIMIT ?`, params };
}
