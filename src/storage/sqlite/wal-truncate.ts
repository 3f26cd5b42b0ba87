/**
 * One try at emptying a SQLite WAL: copy every frame into the database file and truncate the WAL to zero
 * bytes, so old copies of pages (an erasure's deleted rows among them) leave the disk. A reader of an old
 * snapshot, or another connection's checkpoint in progress, makes the try busy. It waits for them at most
 * `waitMs` (the caller's thread is blocked meanwhile), then answers whether the WAL was emptied; callers
 * try again later rather than wait long.
 */
import type Database from 'better-sqlite3';

export function truncateWal(db: Database.Database, waitMs: number): boolean {
  const before = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma(`busy_timeout = ${String(waitMs)}`);
  try {
    const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
    return (r?.busy ?? 0) === 0;
  } finally {
    db.pragma(`busy_timeout = ${String(before)}`);
  }
}
