/**
 * Checkpoints of SQLite write-ahead logs, run away from the threads that write them.
 *
 * In WAL mode a commit appends pages to the `-wal` file; a checkpoint copies them back into the
 * database file and syncs it, and once everything is copied the next writer starts the WAL from its
 * beginning again. By default the connection whose commit takes the WAL past `wal_autocheckpoint`
 * pages runs that checkpoint itself, right after its commit: on the store (16,384 pages) that was the
 * processor's thread, stalled 90–160 ms every ~1.6 s at 10k events/s (each time 64 MB copied and two
 * fsyncs), and on the durable log the edge's event loop. Here a connection of its own copies what is
 * new every `intervalMs` (a PASSIVE checkpoint: it never waits for readers or writers, and never makes
 * them wait), so that when a writer reaches its own threshold almost everything is copied already: its
 * checkpoint is the last few frames, after which its next transaction restarts the WAL. The writers keep
 * their thresholds: they are what restarts the WAL (a writer that begins while every frame is copied),
 * and they bound it should this connection stop.
 *
 * Durability is unchanged: every checkpoint, whichever connection runs it, syncs the WAL before it
 * copies and the database file after (`synchronous` NORMAL or FULL), before any frame can be reused.
 */
import Database from 'better-sqlite3';

export interface WalFile {
  /** Short name for metrics and logs: `store`, `log`. */
  name: string;
  file: string;
}

/** One checkpoint of one file. */
export interface CheckpointPass {
  name: string;
  /** Frames in the WAL when it ran, and how many of them it found or left copied into the database. */
  frames: number;
  copied: number;
  /** Frames copied since the pass before (by this one, or by a writer's own checkpoint meanwhile). */
  newlyCopied: number;
  /** Another checkpoint held the file (a writer's own, or an erasure's): nothing was done this time. */
  busy: boolean;
  ms: number;
}

/** How often by default: at 10k events/s the store's WAL grows 1,000–2,000 pages in 100 ms. */
export const CHECKPOINT_INTERVAL_MS = 100;

export class WalCheckpointer {
  private readonly files: Array<{ name: string; db: Database.Database; copied: number; frames: number }>;

  constructor(files: readonly WalFile[]) {
    this.files = files.map(({ name, file }) => {
      const db = new Database(file, { fileMustExist: true });
      // Checkpoints sync the WAL before copying and the database after (FULL and NORMAL alike); this
      // connection never commits anything.
      db.pragma('synchronous = FULL');
      db.pragma('wal_autocheckpoint = 0');
      // A small cache: the pages copied go through it, and nothing here is read twice.
      db.pragma('cache_size = -2048');
      return { name, db, copied: 0, frames: 0 };
    });
  }

  /** One PASSIVE checkpoint of each file. */
  runOnce(): CheckpointPass[] {
    return this.files.map((f) => {
      const t0 = performance.now();
      const [row] = f.db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
      const busy = (row?.busy ?? 0) !== 0;
      const ms = performance.now() - t0;
      // Held by another checkpoint, SQLite reports no counts (-1): nothing is known of this turn.
      if (row === undefined || row.log < 0 || row.checkpointed < 0)
        return { name: f.name, frames: f.frames, copied: f.copied, newlyCopied: 0, busy, ms };
      const frames = row.log;
      const copied = row.checkpointed;
      // A WAL that restarted (fewer frames than copied before) counts from zero.
      const before = frames < f.frames || copied < f.copied ? 0 : f.copied;
      f.frames = frames;
      f.copied = copied;
      return { name: f.name, frames, copied, newlyCopied: copied - before, busy, ms };
    });
  }

  close(): void {
    for (const f of this.files) f.db.close();
  }
}
