/**
 * A small SQL runner shared by the privacy adapters: queries are written once, with `$1…$n`
 * placeholders, and each dialect runs them. What differs between SQLite and PostgreSQL is a handful of
 * capability helpers on `Dialect` (list membership, substring search), never `if (sqlite)` spread
 * through the queries. Lists are passed as JS arrays: SQLite receives them as JSON for `json_each`.
 */

/** Something that runs parameterised SQL: a connection, a pool, or an open transaction. */
export interface Queryable {
  /** Rows of a query (an empty array for a statement that returns none). */
  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Run a statement; answers the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
}

export interface Dialect {
  readonly kind: 'sqlite' | 'postgres';
  /** `column` is one of the values of list parameter `$n` (text values). */
  inList(column: string, n: number): string;
  /** `column` is one of the values of list parameter `$n` (integer values). */
  inIntList(column: string, n: number): string;
  /** The text `haystack` contains the text parameter `$n`. */
  contains(haystack: string, n: number): string;
  /** The database's clock in epoch milliseconds (one clock for every instance sharing a PostgreSQL store). */
  readonly nowMs: string;
}

/**
 * Locks a privacy transaction takes:
 * - `privacy`: serialises privacy writers with each other (consent, policies, requests);
 * - `exclusive`: also serialises with the processor's commits (erasure, retention, the consent follower,
 *   which read identity tables and must see them stable).
 * On SQLite every write transaction is `BEGIN IMMEDIATE`, which serialises with every writer anyway.
 */
export type TxLock = 'privacy' | 'exclusive';

/** The connection-level operations the privacy adapters need. */
export interface SqlRunner extends Queryable {
  readonly dialect: Dialect;
  transaction<T>(lock: TxLock, work: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Reclaim the space of deleted rows so their bytes leave the files (SQLite: WAL checkpoint; PostgreSQL: VACUUM). */
  reclaim(tables: readonly string[]): Promise<void>;
  /** The names of existing tables starting with `prefix` that have a column `column` (for optional tables of other domains). */
  tablesWithColumn(prefix: string, column: string): Promise<string[]>;
}

/** Quote a table name read from the catalogue (never user input) for use in SQL text. */
export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`refusing unexpected table name ${JSON.stringify(name)}`);
  return `"${name}"`;
}
