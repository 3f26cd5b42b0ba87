/**
 * One write transaction on a better-sqlite3 connection around async work. `BEGIN IMMEDIATE` takes the
 * write lock at once, so it is serialised with the processor's batches and every other writer. `work`
 * must only await calls that settle at once (this connection's own, wrapped in promises): then it runs to
 * completion in microtasks and nothing else can use the connection between BEGIN and COMMIT.
 */
import type Database from 'better-sqlite3';

/** How long a writer waits for the write lock before it gives up with SQLITE_BUSY (as the connections' busy_timeout). */
export const WRITE_LOCK_TIMEOUT_MS = 5000;
/** Between two tries for the write lock, ms. */
const RETRY_MS = 1;

export async function sqliteTransaction<T>(
  db: Database.Database,
  work: () => Promise<T>,
  lockTimeoutMs = WRITE_LOCK_TIMEOUT_MS,
): Promise<T> {
  await beginImmediate(db, lockTimeoutMs);
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
 * `BEGIN IMMEDIATE`, waiting for the write lock by trying again every millisecond, on a timer. SQLite's
 * own busy handler (busy_timeout) sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 … ms between tries
 * and blocks the thread meanwhile: behind the processor, which holds the lock for most of each batch, the
 * audience runner's writes often woke 50–100 ms after the lock was free, and an API write on the main
 * thread stalled ingestion while it slept. A failed try costs microseconds.
 */
async function beginImmediate(db: Database.Database, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const busyTimeout = db.pragma('busy_timeout', { simple: true }) as number;
    db.pragma('busy_timeout = 0');
    try {
      db.exec('BEGIN IMMEDIATE');
      return;
    } catch (err) {
      // SQLITE_BUSY, or an extended code of it (SQLITE_BUSY_RECOVERY while another connection recovers the WAL).
      if (!String((err as { code?: unknown }).code).startsWith('SQLITE_BUSY') || performance.now() >= deadline) throw err;
    } finally {
      db.pragma(`busy_timeout = ${busyTimeout}`);
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
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
