/**
 * Makes erased bytes leave the durable log's files, and keeps at it until they have.
 *
 * Two things put a subject's data in the log after an erasure started: the events of hers that were
 * waiting when it ran, and events resent after it, which the collection gate drops once they are read.
 * Both leave once their entries are deleted and the file rewritten (`EventLog.scrub`). A scrub can fail
 * to empty the WAL (a reader of an old snapshot, the background checkpointer copying at that moment),
 * so a scrub owed is tried again, with a growing pause, until one succeeds; it does not wait for the next
 * erasure.
 *
 * Entries are deleted only once the store's commits covering them survive power loss (`durableSeq`):
 * an acknowledged event must not leave the log before it is safely stored. A scrub owed for entries past
 * that point deletes what it may and tries again.
 */

export interface ScrubbableLog {
  /**
   * Forget entries up to `uptoSeq` and rewrite the file without their bytes; false when the WAL stayed
   * busy. `rewrite` false: the last try's rewrite covered `uptoSeq` already; only empty the WAL.
   */
  scrub(uptoSeq: number, rewrite?: boolean): boolean;
}

export interface LogScrubberOptions {
  log: ScrubbableLog;
  /** Log position up to which processing survives power loss; null when no processor runs here (nothing is deleted). */
  durableSeq: () => number | null;
  now: () => number;
  onError: (err: unknown) => void;
  /** Scrubs for dropped events run at most this often, ms (an erasure's own scrub does not wait). */
  minIntervalMs?: number;
  /** The first pause before a scrub is tried again, ms; it doubles up to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
}

export class LogScrubber {
  /** Entries up to here hold erased data (0: only the file's free pages and WAL do). */
  private target = 0;
  private owed = false;
  /** The last try rewrote the file with entries up to here deleted (-1: none did since the last request). */
  private rewrittenUpTo = -1;
  private timer: NodeJS.Timeout | null = null;
  private lastRun = -Infinity;
  private pause: number;
  private waiters: Array<() => void> = [];
  private closed = false;
  private readonly minIntervalMs: number;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;

  constructor(private readonly o: LogScrubberOptions) {
    this.minIntervalMs = o.minIntervalMs ?? 2_000;
    this.retryMs = o.retryMs ?? 100;
    this.maxRetryMs = o.maxRetryMs ?? 2_000;
    this.pause = this.retryMs;
  }

  /** Whether a scrub is owed (asked for and not yet done). */
  get pending(): boolean {
    return this.owed;
  }

  /** The gate dropped erased data up to `seq`: scrub it, at most every `minIntervalMs`. */
  request(seq: number): void {
    this.owe(seq);
    if (this.timer === null) this.schedule(Math.max(0, this.lastRun + this.minIntervalMs - this.o.now()));
  }

  /**
   * An erasure's scrub: now, then again while it does not succeed. Resolves true once the log's files
   * hold nothing up to `seq`, false if they still do after `waitMs` (the tries go on in the background).
   */
  async scrubNow(seq: number, waitMs: number): Promise<boolean> {
    this.owe(seq);
    const done = new Promise<void>((resolve) => this.waiters.push(resolve));
    this.pause = this.retryMs;
    this.schedule(0);
    // Not unref'd: someone awaits this, and the retries (whose timers are) run meanwhile.
    let timeout: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => (timeout = setTimeout(() => resolve(false), waitMs)));
    try {
      return await Promise.race([done.then(() => true as const), expired]);
    } finally {
      clearTimeout(timeout);
    }
  }

  /** Stop; a scrub still owed gets one last try. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.owed) this.run();
  }

  private owe(seq: number): void {
    this.target = Math.max(this.target, seq);
    this.owed = true;
    this.rewrittenUpTo = -1;
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.run();
      if (this.owed) {
        this.schedule(this.pause);
        this.pause = Math.min(this.pause * 2, this.maxRetryMs);
      }
    }, ms).unref();
  }

  private run(): void {
    this.lastRun = this.o.now();
    const durable = this.o.durableSeq();
    const upto = durable === null ? 0 : Math.min(this.target, durable);
    let emptied = false;
    try {
      // A retry after a busy WAL rewrites the file again only if it has more entries to delete.
      emptied = this.o.log.scrub(upto, upto > this.rewrittenUpTo);
      this.rewrittenUpTo = Math.max(this.rewrittenUpTo, upto);
    } catch (err) {
      this.o.onError(err);
    }
    if (!emptied || (durable !== null && durable < this.target)) return;
    this.owed = false;
    this.pause = this.retryMs;
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}
