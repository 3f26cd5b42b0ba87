/**
 * One write transaction on a better-sqlite3 connection around async work. `BEGIN IMMEDIATE` takes the
 * write lock at once, so it is serialised with the processor's batches and every other writer. `work`
 * must only await calls that settle at once (this connection's own, wrapped in promises): then it runs to
 * completion in microtasks and nothing else can use the connection between BEGIN and COMMIT.
 */
import type Database from 'better-sqlite3';

export async function sqliteTransaction<T>(db: Database.Database, work: () => Promise<T>): Promise<T> {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = await work();
    db.exec('COMMIT');
    return result;
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw err;
  }
}

/**
 * Read-only work on one snapshot, holding no write lock: a deferred transaction takes its snapshot at
 * its first read and keeps it until the end, while other connections go on committing (WAL). The
 * same contract on `work` as above.
 */
export async function sqliteReadTransaction<T>(db: Database.Database, work: () => Promise<T>): Promise<T> {
  db.exec('BEGIN DEFERRED');
  try {
    return await work();
  } finally {
    if (db.inTransaction) db.exec('COMMIT');
  }
}
