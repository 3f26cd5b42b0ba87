/** The privacy SQL runner on SQLite (better-sqlite3, synchronous: every call settles at once). */
import { sqliteTransaction } from '../sqlite/sqlite-transaction.ts';
import { truncateWal } from '../sqlite/wal-truncate.ts';
import type Database from 'better-sqlite3';
import type { Dialect, Queryable, SqlRunner, TxLock } from './sql-runner.ts';
import { quoteIdent } from './sql-runner.ts';

const dialect: Dialect = {
  kind: 'sqlite',
  inList: (column, n) => `${column} IN (SELECT value FROM json_each($${n}))`,
  inIntList: (column, n) => `${column} IN (SELECT value FROM json_each($${n}))`,
  contains: (haystack, n) => `instr(${haystack}, $${n}) > 0`,
  nowMs: `CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)`,
};

/** How long an erasure keeps trying to empty the store's WAL, ms. */
const RECLAIM_GIVE_UP_MS = 30_000;

/** `$1` → `@p1` (better-sqlite3 binds named parameters from an object). */
const translate = (sql: string): string => sql.replace(/\$(\d+)/g, '@p$1');

function bind(params: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  params.forEach((v, i) => {
    out[`p${i + 1}`] = Array.isArray(v) ? JSON.stringify(v) : typeof v === 'boolean' ? (v ? 1 : 0) : v === undefined ? null : v;
  });
  return out;
}

export class SqliteRunner implements SqlRunner {
  readonly dialect = dialect;
  private readonly cache = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  private statement(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (s === undefined) {
      s = this.db.prepare(translate(sql));
      if (this.cache.size > 500) this.cache.clear();
      this.cache.set(sql, s);
    }
    return s;
  }

  async all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const s = this.statement(sql);
    if (!s.reader) {
      s.run(bind(params));
      return [];
    }
    return s.all(bind(params)) as T[];
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    return this.statement(sql).run(bind(params)).changes;
  }

  async transaction<T>(_lock: TxLock, work: (tx: Queryable) => Promise<T>): Promise<T> {
    return sqliteTransaction(this.db, () => work(this));
  }

  async reclaim(): Promise<void> {
    // secure_delete is ON in the store: deleted content is zeroed in the database pages. Old copies of
    // those pages stay in the WAL until it is emptied. A reader of an old snapshot, or the background
    // checkpointer, can hold it: each try waits for them at most 50 ms (this thread serves requests),
    // then a growing pause, for up to RECLAIM_GIVE_UP_MS. Past that the request fails, and runs again.
    let pause = 25;
    for (const started = Date.now(); !truncateWal(this.db, 50); pause = Math.min(pause * 2, 1_000)) {
      if (Date.now() - started > RECLAIM_GIVE_UP_MS)
        throw new Error(
          `the SQLite store's WAL stayed in use for ${String(RECLAIM_GIVE_UP_MS / 1000)} s: old copies of erased rows may remain in it`,
        );
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  async tablesWithColumn(prefix: string, column: string): Promise<string[]> {
    const tables = this.db
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, length(?)) = ? ORDER BY name`)
      .pluck()
      .all(prefix, prefix) as string[];
    const columns = this.db.prepare('SELECT name FROM pragma_table_info(?)').pluck();
    return tables.filter((t) => (columns.all(quoteIdent(t).slice(1, -1)) as string[]).includes(column));
  }
}
