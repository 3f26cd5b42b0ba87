/**
 * Crypto-shredding for the NATS log. JetStream's purge drops entries from its index at once, but their
 * bytes stay in its block files (and in replicas and backups of them) until the file store reuses the
 * block. So every entry is sealed with a key that lives in the store, and the key is deleted once every
 * entry it sealed is processed and purged: what is left on JetStream's disks can no longer be read.
 *
 * - **Edges** take a new key every `rotateMs` (and at once after an erasure: `rotate`). A key is *retired*
 *   when its edge has moved on and every append with it has settled.
 * - **The processor's node** (the one that purges) seals a key once it is retired, or once it is old enough
 *   that its edge must have stopped (`SLACK_MS` past its rotation, for an edge that died), at the stream's
 *   last entry at that moment: every entry the key sealed is at or before it. The key is deleted once the
 *   purge passes that entry. Ages are read on the database's clock, the same for every instance.
 * - **Readers** fetch a key by id when an entry names one they have not seen, and keep it a while.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { newSecret } from './log-cipher.ts';

/** Where keys are kept: the store (`storage/privacy/log-key-data.ts`). */
export interface LogKeyStore {
  create(logId: string, keyId: string, secret: string): Promise<number>;
  secret(logId: string, keyId: string): Promise<string | null>;
  list(
    logId: string,
  ): Promise<{ now: number; keys: Array<{ keyId: string; createdAt: number; retired: boolean; sealedSeq: number | null }> }>;
  retire(logId: string, keyId: string): Promise<void>;
  seal(logId: string, keyId: string, seq: number): Promise<void>;
  delete(logId: string, keyIds: readonly string[]): Promise<number>;
  deleteOtherLogs(prefix: string, keepLogId: string): Promise<number>;
}

/**
 * A key never retired by its edge is taken as unused this long after its rotation was due: longer than
 * an append's tries (15 s) and the grace below, with room for a slow store.
 */
export const SLACK_MS = 5 * 60_000;
/** An edge that cannot store a new key keeps sealing with its current one this much longer (then refuses). */
const GRACE_MS = 2 * 60_000;

export interface SealingKey {
  readonly id: string;
  readonly secret: Buffer;
}

interface EdgeKey extends SealingKey {
  /** When this edge stops taking it for new appends (monotonic ms). */
  until: number;
  inFlight: number;
  retired: boolean;
}

export class LogKeyring {
  private current: EdgeKey | null = null;
  private creating: Promise<EdgeKey> | null = null;
  private readonly secrets = new Map<string, { secret: Buffer; usedAt: number }>();
  private rotateTimer: NodeJS.Timeout | null = null;
  private otherLogsCleared = false;
  /** As of the last `shred`: keys held, the oldest one's age (database clock), keys deleted by this instance. */
  private held: { keys: number; oldestAgeMs: number } | null = null;
  private shredded = 0;
  private readonly retiring = new Set<Promise<void>>();

  constructor(
    private readonly store: LogKeyStore,
    private readonly logId: string,
    private readonly rotateMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  // ---- the edge ----

  /** The key to seal the next append with. Call `settled` with it once that append has settled. */
  async acquire(): Promise<SealingKey> {
    const c = this.current;
    if (c !== null && performance.now() < c.until) {
      c.inFlight++;
      return c;
    }
    this.creating ??= this.create().finally(() => (this.creating = null));
    const k = await this.creating;
    k.inFlight++;
    return k;
  }

  settled(key: SealingKey): void {
    const k = key as EdgeKey;
    k.inFlight--;
    if (k !== this.current) this.retireIfIdle(k);
  }

  /** Stop sealing with the current key (after an erasure: the entries before it become shreddable sooner). */
  rotate(): void {
    const old = this.current;
    if (old === null) return;
    this.current = null;
    this.retireIfIdle(old);
  }

  private async create(): Promise<EdgeKey> {
    const id = randomBytes(8).toString('hex');
    const secret = newSecret();
    try {
      await this.store.create(this.logId, id, secret.toString('base64'));
    } catch (err) {
      const c = this.current;
      if (c !== null && performance.now() < c.until + GRACE_MS) {
        this.onError(err);
        return c;
      }
      throw err;
    }
    const key: EdgeKey = { id, secret, until: performance.now() + this.rotateMs, inFlight: 0, retired: false };
    this.remember(id, secret);
    const old = this.current;
    this.current = key;
    if (old !== null) this.retireIfIdle(old);
    // An idle edge retires its key too, rather than leaving it to the slack.
    this.rotateTimer ??= setInterval(
      () => {
        if (this.current !== null && performance.now() >= this.current.until && this.creating === null) this.rotate();
      },
      Math.max(250, Math.min(this.rotateMs / 2, 10_000)),
    ).unref();
    return key;
  }

  private retireIfIdle(k: EdgeKey): void {
    if (k.inFlight > 0 || k.retired) return;
    k.retired = true;
    // If this fails, the key is still sealed once its slack has passed.
    const done = this.store
      .retire(this.logId, k.id)
      .catch(this.onError)
      .finally(() => this.retiring.delete(done));
    this.retiring.add(done);
  }

  // ---- the reader ----

  /** A key's secret, or null when the store no longer has it (shredded, or never stored). */
  async secretOf(keyId: string): Promise<Buffer | null> {
    const hit = this.secrets.get(keyId);
    if (hit !== undefined) {
      hit.usedAt = performance.now();
      return hit.secret;
    }
    const stored = await this.store.secret(this.logId, keyId);
    if (stored === null) return null;
    const secret = Buffer.from(stored, 'base64');
    this.remember(keyId, secret);
    return secret;
  }

  private remember(keyId: string, secret: Buffer): void {
    // Keys not used for a while are forgotten here too (they are shredded in the store by then, or soon).
    const stale = performance.now() - (this.rotateMs + SLACK_MS);
    for (const [id, s] of this.secrets) if (s.usedAt < stale) this.secrets.delete(id);
    this.secrets.set(keyId, { secret, usedAt: performance.now() });
  }

  // ---- the processor's node ----

  /**
   * Seal the keys no longer in use at the stream's last entry (`lastSeq`, asked only when one is to be
   * sealed) and delete those whose entries are all purged (`purgedUpTo`). Answers how many it deleted.
   */
  async shred(purgedUpTo: number, lastSeq: () => Promise<number>): Promise<number> {
    if (!this.otherLogsCleared) {
      const colon = this.logId.lastIndexOf(':');
      await this.store.deleteOtherLogs(this.logId.slice(0, colon + 1), this.logId);
      this.otherLogsCleared = true;
    }
    const { now, keys } = await this.store.list(this.logId);
    let last: number | null = null;
    const gone: string[] = [];
    for (const k of keys) {
      if (k.sealedSeq === null) {
        if (k.keyId === this.current?.id) continue;
        if (!k.retired && now - k.createdAt <= this.rotateMs + SLACK_MS) continue;
        // Read after the key was known unused: every entry it sealed is at or before this.
        last ??= await lastSeq();
        await this.store.seal(this.logId, k.keyId, last);
      } else if (k.sealedSeq <= purgedUpTo) {
        gone.push(k.keyId);
      }
    }
    for (const id of gone) this.secrets.delete(id);
    const deleted = await this.store.delete(this.logId, gone);
    this.shredded += deleted;
    const left = keys.filter((k) => !gone.includes(k.keyId));
    this.held = { keys: left.length, oldestAgeMs: left.length === 0 ? 0 : now - Math.min(...left.map((k) => k.createdAt)) };
    return deleted;
  }

  /** What the shredder saw at its last pass (null before one): a growing oldest age means keys are not being shredded. */
  stats(): { keys: number; oldestAgeSeconds: number; shredded: number } | null {
    return this.held === null ? null : { keys: this.held.keys, oldestAgeSeconds: this.held.oldestAgeMs / 1000, shredded: this.shredded };
  }

  /** Retire the current key (appends are over): the processor's node need not wait out its slack. */
  async close(): Promise<void> {
    if (this.rotateTimer !== null) clearInterval(this.rotateTimer);
    this.rotateTimer = null;
    this.rotate();
    await Promise.all(this.retiring);
  }
}
