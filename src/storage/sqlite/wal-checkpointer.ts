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
 * them wait). Once the WAL is `restartFrames` long and all copied, it also tries a RESTART checkpoint,
 * without waiting: it takes the write lock only if it is free, copies what was committed since (little or
 * nothing) and succeeds only if no reader still uses the WAL; the next writer then starts it over. The
 * writers keep their own thresholds (twice as far): should the restarts keep failing, or this connection
 * stop, the writer that crosses one copies what is left (the last ~100 ms here) and starts the WAL over.
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
  /** Everything was copied and no one used the WAL: the next writer starts it over (see `restartFrames`). */
  restarted: boolean;
  ms: number;
}

/** How often by default: at 10k events/s the store's WAL grows 1,000–2,000 pages in 100 ms. */
export const CHECKPOINT_INTERVAL_MS = 100;

/** A WAL this long, all copied, is started over from here when no one is using it (half the store's threshold). */
export const RESTART_FRAMES = 8192;

/** The writers' own threshold beside this thread (`wal_autocheckpoint`): the fallback, twice as far. */
export const WRITER_FALLBACK_PAGES = 2 * RESTART_FRAMES;

export class WalCheckpointer {
  private readonly files: Array<{ name: string; db: Database.Database; copied: number; frames: number }>;

  constructor(
    files: readonly WalFile[],
    private readonly restartFrames = RESTART_FRAMES,
  ) {
    this.files = files.map(({ name, file }) => {
      // No busy wait: a checkpoint that cannot have what it needs at once is tried again next time.
      const db = new Database(file, { fileMustExist: true, timeout: 0 });
      // Checkpoints sync the WAL before copying and the database after (FULL and NORMAL alike); this
      // connection never commits anything.
      db.pragma('synchronous = FULL');
      db.pragma('wal_autocheckpoint = 0');
      // A small cache: the pages copied go through it, and nothing here is read twice.
      db.pragma('cache_size = -2048');
      return { name, db, copied: 0, frames: 0 };
    });
  }

  /** One PASSIVE checkpoint of each file, then a RESTART of a long WAL all copied (see the file comment). */
  runOnce(): CheckpointPass[] {
    return this.files.map((f) => {
      const t0 = performance.now();
      const [row] = f.db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
      const busy = (row?.busy ?? 0) !== 0;
      const ms = performance.now() - t0;
      // Held by another checkpoint, SQLite reports no counts (-1): nothing is known of this turn.
      if (row === undefined || row.log < 0 || row.checkpointed < 0)
        return { name: f.name, frames: f.frames, copied: f.copied, newlyCopied: 0, busy, restarted: false, ms };
      const frames = row.log;
      const copied = row.checkpointed;
      // A WAL that restarted (fewer frames than copied before) counts from zero.
      const before = frames < f.frames || copied < f.copied ? 0 : f.copied;
      f.frames = frames;
      f.copied = copied;
      let restarted = false;
      if (!busy && frames >= this.restartFrames && copied === frames) {
        // RESTART takes the write lock only if it is free (no wait), copies what was committed since the
        // pass above (little or nothing) and succeeds only if no reader uses the WAL: the next writer then
        // starts it over, and no writer runs a checkpoint of its own.
        const [r] = f.db.pragma('wal_checkpoint(RESTART)') as Array<{ busy: number; log: number; checkpointed: number }>;
        restarted = r !== undefined && r.busy === 0;
        if (restarted) {
          f.frames = 0;
          f.copied = 0;
        }
      }
      return { name: f.name, frames, copied, newlyCopied: copied - before, busy, restarted, ms: performance.now() - t0 };
    });
  }

  close(): void {
    for (const f of this.files) f.db.close();
  }
}
