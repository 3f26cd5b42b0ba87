/**
 * The embedded durable log: a SQLite file of its own (so its writer never waits for the store's), in
 * WAL mode, written with group commit: every append that arrives during one turn of the event loop goes
 * into one transaction, and all of them resolve once that transaction is on disk.
 *
 * How it gets to disk: by default each commit syncs (`synchronous=FULL`), on the appending thread. With
 * `backgroundSync` (the server's edge) a commit does not sync; an fdatasync of the WAL file follows on the
 * thread pool, one at a time, and resolves every append committed before it began: the edge's thread
 * goes on serving requests meanwhile (at 10k events/s it spent a fifth of its time waiting in fsync).
 * Until that sync, the entries are committed but not durable: readers must not process them (a power
 * loss would take them while the store kept their effects, and their seqs would be given again). The
 * writer keeps the first seq that may not be durable in a shared cell (`unsyncedFrom`): it is set inside
 * the transaction, before the commit makes the entries visible, and cleared after the sync; readers cut
 * what they read at it, looking at the cell after their query.
 *
 * Bodies are stored with non-ASCII characters escaped (`ascii-json.ts`): the same JSON, faster to read.
 */
import Database from 'better-sqlite3';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { datasyncWal } from '../../storage/sqlite/wal-sync.ts';
import { truncateWal } from '../../storage/sqlite/wal-truncate.ts';
import { asciiJson } from '../ascii-json.ts';
import type { EventLog, LogEntry, LogRecord } from '../event-log.ts';

/** The cell's value while every committed entry is durable. */
const ALL_DURABLE = 2n ** 62n;
/** After a failed sync, the next try, ms. */
const SYNC_RETRY_MS = 100;
/** An erasure's WAL truncation waits at most this long for readers and the checkpointer, ms. */
const SCRUB_WAIT_MS = 50;

export interface SqliteLogOptions {
  readonly?: boolean;
  /** Commit without syncing and sync the WAL on the thread pool before appends resolve (see above). */
  backgroundSync?: boolean;
  /** For a reader in another thread: the writer's `unsyncedFrom` cell; entries from that seq on are not read. */
  unsyncedFrom?: SharedArrayBuffer;
  /** The writer's own checkpoints start at this many WAL pages (SQLite's default 1,000; higher when a checkpoint thread runs). */
  walAutocheckpoint?: number;
  /** How the WAL file is synced (tests hold it back); default an fdatasync on the thread pool. */
  syncWal?: (file: string) => Promise<void>;
}

interface Pending {
  entry: LogEntry;
  resolve: (seq: number) => void;
  seq: number;
  reject: (err: unknown) => void;
}

interface Row {
  seq: number;
  source_id: string;
  received_at: number;
  type_hint: string | null;
  shape: string;
  body: string;
  messages: number;
}

export class SqliteEventLog implements EventLog {
  private readonly db: Database.Database;
  private pending: Pending[] = [];
  private flushScheduled = false;
  private readonly listeners: Array<() => void> = [];
  private cumMessages: number;
  private readonly insert: Database.Statement;
  private readonly readStmt: Database.Statement;
  private readonly cumAt: Database.Statement;
  private readonly headStmt: Database.Statement;
  private closed = false;
  /** A random id of this log file, fixed at creation: processors keep their cursor under it (see `EventLog.logId`). */
  readonly logId: string;
  /**
   * The first seq that may not be durable yet (`ALL_DURABLE` when every commit is): written by a
   * `backgroundSync` writer, read by every reader that shares it. Pass `unsyncedFrom` to a reader in
   * another thread.
   */
  readonly unsyncedFrom: SharedArrayBuffer;
  private readonly cell: BigInt64Array;
  private readonly backgroundSync: boolean;
  private readonly syncWal: (file: string) => Promise<void>;
  /** Committed, waiting for a sync to begin; `waitingFrom`: a seq at or before the first of them. */
  private waiting: Pending[] = [];
  private waitingFrom = 0;
  private syncing: Promise<void> | null = null;
  /** Commits that no sync has covered since they were made (`waiting`, or those of a sync that failed). */
  private dirty = false;

  constructor(
    private readonly file: string,
    options: SqliteLogOptions = {},
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.backgroundSync = options.backgroundSync === true && options.readonly !== true;
    this.syncWal = options.syncWal ?? datasyncWal;
    this.unsyncedFrom = options.unsyncedFrom ?? new SharedArrayBuffer(8);
    this.cell = new BigInt64Array(this.unsyncedFrom);
    if (options.unsyncedFrom === undefined) Atomics.store(this.cell, 0, ALL_DURABLE);
    this.db = new Database(file, { readonly: options.readonly ?? false });
    if (!options.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${this.backgroundSync ? 'NORMAL' : 'FULL'}`);
      if (options.walAutocheckpoint !== undefined) this.db.pragma(`wal_autocheckpoint = ${options.walAutocheckpoint}`);
      // Not secure_delete: zeroing every processed body costs ~8x the delete and blocks the edge's thread.
      // Processed entries leave the log within a second; erasure compacts the file instead (see ADR 0001).
      this.db.pragma('secure_delete = OFF');
      this.db.exec(`CREATE TABLE IF NOT EXISTS log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        source_id TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        type_hint TEXT,
        shape TEXT NOT NULL,
        body TEXT NOT NULL,
        messages INTEGER NOT NULL,
        cum_messages INTEGER NOT NULL
      )`);
      this.db.exec(`CREATE TABLE IF NOT EXISTS log_meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`);
    }
    this.db.pragma('busy_timeout = 5000');
    const last = this.db.prepare('SELECT seq, cum_messages FROM log ORDER BY seq DESC LIMIT 1').get() as
      { seq: number; cum_messages: number } | undefined;
    const meta = this.db.prepare(`SELECT v FROM log_meta WHERE k = 'cum_messages'`).get() as { v: number } | undefined;
    this.cumMessages = last?.cum_messages ?? meta?.v ?? 0;
    this.logId = this.readOrCreateLogId(options.readonly ?? false);
    this.insert = this.db.prepare(
      'INSERT INTO log (source_id, received_at, type_hint, shape, body, messages, cum_messages) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    // Stepped row by row (`iterate`) and left as soon as the batch is full. A WHERE on the message counts
    // cannot stop the scan: SQLite would test every later row, and those columns sit after the body, so
    // each test would read the body's overflow pages: a read cost the whole backlog.
    this.readStmt = this.db.prepare(
      'SELECT seq, source_id, received_at, type_hint, shape, body, messages FROM log WHERE seq > ? ORDER BY seq LIMIT ?',
    );
    this.cumAt = this.db.prepare('SELECT cum_messages - messages AS before, seq, received_at FROM log WHERE seq > ? ORDER BY seq LIMIT 1');
    this.headStmt = this.db.prepare(`SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'log'), 0) AS s`);
  }

  private readOrCreateLogId(readonly: boolean): string {
    const get = () => this.db.prepare(`SELECT v FROM log_meta WHERE k = 'log_id'`).get() as { v: number } | undefined;
    let row = get();
    if (row === undefined && !readonly) {
      this.db.prepare(`INSERT OR IGNORE INTO log_meta (k, v) VALUES ('log_id', ?)`).run(randomInt(1, 2 ** 47));
      row = get();
    }
    return row === undefined ? 'unknown' : row.v.toString(36);
  }

  append(entry: LogEntry): Promise<number> {
    if (this.closed) return Promise.reject(new Error('the event log is closed'));
    return new Promise((resolve, reject) => {
      // Stored as ASCII (the same JSON): read back several times faster (see `ascii-json.ts`).
      this.pending.push({ entry: { ...entry, body: asciiJson(entry.body) }, resolve, reject, seq: 0 });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const group = this.pending;
    this.pending = [];
    if (group.length === 0) return;
    const before = this.cumMessages;
    try {
      const insertAll = this.db.transaction(() => {
        if (this.backgroundSync) this.markUnsynced();
        let cum = before;
        for (const p of group) {
          const { entry } = p;
          cum += entry.messages;
          p.seq = Number(
            this.insert.run(entry.sourceId, entry.receivedAt, entry.typeHint, entry.shape, entry.body, entry.messages, cum).lastInsertRowid,
          );
        }
        this.cumMessages = cum;
      });
      // Immediate: the head read by `markUnsynced` stays the head until these rows follow it.
      insertAll.immediate();
    } catch (err) {
      this.cumMessages = before;
      for (const p of group) p.reject(err);
      if (this.backgroundSync && !this.dirty && this.syncing === null) Atomics.store(this.cell, 0, ALL_DURABLE);
      return;
    }
    if (this.backgroundSync) {
      this.waiting.push(...group);
      this.dirty = true;
      this.startSync();
      return;
    }
    for (const p of group) p.resolve(p.seq);
    for (const l of this.listeners) l();
  }

  /**
   * Inside the write transaction, before its rows: readers stop at the next seq until a sync covers it
   * (already stopped earlier if an older commit is not synced yet).
   */
  private markUnsynced(): void {
    const next = this.headSeq() + 1;
    if (!this.dirty) this.waitingFrom = next;
    if (Atomics.load(this.cell, 0) === ALL_DURABLE) Atomics.store(this.cell, 0, BigInt(next));
  }

  /** One sync at a time: it covers every commit made before it began; what commits meanwhile waits for the next. */
  private startSync(): void {
    if (this.syncing !== null || !this.dirty) return;
    const covered = this.waiting;
    this.waiting = [];
    this.dirty = false;
    this.syncing = this.syncWal(this.file).then(
      () => {
        Atomics.store(this.cell, 0, this.dirty ? BigInt(this.waitingFrom) : ALL_DURABLE);
        this.syncing = null;
        for (const p of covered) p.resolve(p.seq);
        for (const l of this.listeners) l();
        this.startSync();
      },
      (err: unknown) => {
        // Committed, but not known to be on disk: these appends fail (their senders retry; the processor
        // drops the duplicates), and readers stay stopped before them until a later sync succeeds.
        for (const p of covered) p.reject(err);
        this.waitingFrom = Number(Atomics.load(this.cell, 0));
        this.dirty = true;
        setTimeout(() => {
          this.syncing = null;
          this.startSync();
        }, SYNC_RETRY_MS).unref();
      },
    );
  }

  read(afterSeq: number, limit: number, maxMessages: number): LogRecord[] {
    const out: LogRecord[] = [];
    let messages = 0;
    // Looked at after the query's snapshot is taken (its first step): a commit visible to the query set the
    // cell before it committed.
    let unsyncedFrom: number | undefined;
    for (const r of this.readStmt.iterate(afterSeq, limit) as IterableIterator<Row>) {
      unsyncedFrom ??= Number(Atomics.load(this.cell, 0));
      if (r.seq >= unsyncedFrom) break;
      if (out.length > 0 && messages + r.messages > maxMessages) break;
      messages += r.messages;
      out.push({
        seq: r.seq,
        sourceId: r.source_id,
        receivedAt: r.received_at,
        typeHint: r.type_hint as LogRecord['typeHint'],
        shape: r.shape === 'single' || r.shape === 'command' ? r.shape : 'batch',
        body: r.body,
        messages: r.messages,
      });
    }
    return out;
  }

  /** A local file: appends fail only with the disk, which the store's own check covers. */
  unavailable(): string | null {
    return null;
  }

  /** Entries are read from the file each time: nothing is held to let go. */
  release(): void {}

  truncate(uptoSeq: number): void {
    this.db
      .transaction(() => {
        // Keep the running message count across a log that is emptied.
        const last = this.db.prepare('SELECT cum_messages FROM log WHERE seq <= ? ORDER BY seq DESC LIMIT 1').get(uptoSeq) as
          { cum_messages: number } | undefined;
        if (last)
          this.db
            .prepare(`INSERT INTO log_meta (k, v) VALUES ('cum_messages', ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v`)
            .run(last.cum_messages);
        this.db.prepare('DELETE FROM log WHERE seq <= ?').run(uptoSeq);
      })
      .immediate();
  }

  backlog(processedSeq: number): { records: number; messages: number; oldestReceivedAt: number | null } {
    const next = this.cumAt.get(processedSeq) as { before: number; seq: number; received_at: number } | undefined;
    if (!next) return { records: 0, messages: 0, oldestReceivedAt: null };
    return { records: this.headSeq() - next.seq + 1, messages: this.cumMessages - next.before, oldestReceivedAt: next.received_at };
  }

  /** The highest sequence number ever appended (0 for an empty log). */
  headSeq(): number {
    return (this.headStmt.get() as { s: number }).s;
  }

  onAppend(listener: () => void): void {
    this.listeners.push(listener);
  }

  /**
   * Erasure: forget processed entries up to `uptoSeq`, then rewrite the file without free pages (where
   * deleted bodies linger, secure_delete being off) and empty the WAL. Answers whether the WAL could be
   * emptied: a reader of an old snapshot, or the background checkpointer copying at that moment, makes
   * the truncation busy. It waits for them at most `SCRUB_WAIT_MS` (this is the edge's event loop);
   * the caller tries again later (see `LogScrubber`), without the rewrite if nothing was deleted since.
   */
  scrub(uptoSeq: number, rewrite = true): boolean {
    if (this.closed) return false;
    if (uptoSeq > 0) this.truncate(uptoSeq);
    if (rewrite) this.db.exec('VACUUM');
    return truncateWal(this.db, SCRUB_WAIT_MS);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.backgroundSync) await this.settle();
    this.db.close();
  }

  /** Closing: after the sync in flight, one more for whatever it did not cover. */
  private async settle(): Promise<void> {
    await this.syncing;
    if (!this.dirty) return;
    const covered = this.waiting;
    this.waiting = [];
    try {
      await this.syncWal(this.file);
      this.dirty = false;
      Atomics.store(this.cell, 0, ALL_DURABLE);
      for (const p of covered) p.resolve(p.seq);
    } catch (err) {
      for (const p of covered) p.reject(err);
    }
  }
}
