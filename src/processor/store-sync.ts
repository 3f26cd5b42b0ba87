/**
 * How far the store's commits survive power loss (`BatchReport.durableSeq`). SQLite commits with
 * `synchronous=NORMAL`; the store syncs what is committed (`Store.syncCommitted`) off the processor's
 * thread, at most once a second and one sync at a time, while batches go on committing. When a sync is
 * done, every commit made before it began is durable.
 */
import type { Store } from '../storage/store.ts';

/** At most this often the store's commits are synced to disk (an fsync), so the log can forget what they cover. */
const SYNC_EVERY_MS = 1000;

export class StoreSync {
  private durable = 0;
  private lastSync = 0;
  private syncing: Promise<void> | null = null;

  constructor(
    private readonly store: Pick<Store, 'syncCommitted'>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** The log position up to which processing survives power loss. */
  get durableSeq(): number {
    return this.durable;
  }

  /** After a commit that covers log position `seq`: start a sync if one is due and none is running. */
  committed(seq: number, now: number): void {
    if (this.syncing !== null || now - this.lastSync < SYNC_EVERY_MS || this.durable >= seq) return;
    this.lastSync = now;
    this.syncing = this.store
      .syncCommitted()
      .then(
        () => {
          this.durable = Math.max(this.durable, seq);
        },
        (err: unknown) => this.onError(err),
      )
      .finally(() => {
        this.syncing = null;
      });
  }

  /** Make every commit up to `seq` durable now (idle, stopping); false when it already was. */
  async syncNow(seq: number, now: number): Promise<boolean> {
    await this.syncing;
    if (this.durable >= seq) return false;
    await this.store.syncCommitted();
    this.durable = Math.max(this.durable, seq);
    this.lastSync = now;
    return true;
  }
}
