/**
 * An fdatasync of a SQLite database's WAL file, through a descriptor of its own, on the thread pool: every
 * commit written to it before (by any connection) is then on disk, and no lock is held meanwhile. Frames
 * that a checkpoint has moved into the database file were synced there by the checkpoint (it syncs the
 * database before the WAL is reused). With no WAL file (an in-memory database, or all connections
 * closed) there is nothing left to sync in it, and the database file is synced instead.
 */
import fs from 'node:fs';

export async function datasyncWal(file: string): Promise<void> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(`${file}-wal`, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    handle = await fs.promises.open(file, 'r');
  }
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}
