/**
 * The processor: reads the durable log in order, in micro-batches, turns entries into events, and
 * commits each micro-batch to the store in one transaction together with its log position
 * (exactly-once: a crash before the commit replays the batch, a crash after it does not). Later stages
 * (identity, profiles, segments) plug in between decoding and committing.
 */
import type { Config, Limits } from '../config/config.ts';
import { DEFAULT_RULES, validateRules } from '../core/identity/rules.ts';
import type { EventLog, LogRecord } from '../log/event-log.ts';
import { CursorMovedError, type Store } from '../storage/store.ts';
import { CommandStep } from './command-step.ts';
import { consentInboxKey, type EventGate } from './event-gate.ts';
import { prepareEvents, type PreparedEvents } from './prepare-events.ts';
import { IdentitySession, type IdentitySettings, type IdentityStats } from './identity-session.ts';
import { StoreSync } from './store-sync.ts';

export interface ProcessorOptions {
  log: EventLog;
  store: Store;
  limits: Pick<Limits, 'maxMessageBytes' | 'maxDepth'>;
  /** Told after each committed micro-batch (metrics, progress for back-pressure). */
  report: (report: BatchReport) => void;
  now: () => number;
  dedupWindowMs: number;
  identity: IdentitySettings;
  /** The collection gate (privacy enforcement) applied to every decoded event; none keeps everything. */
  gate?: EventGate;
  /** The cursor this processor keeps in the store; default `cursorNameFor(log)`. */
  cursorName?: string;
  /** Most log records and messages per micro-batch. */
  maxRecords?: number;
  maxMessages?: number;
  onError?: (err: unknown) => void;
}

/** The store cursor of the processor reading `log`: one per log, so one per node. */
export function cursorNameFor(log: Pick<EventLog, 'logId'>): string {
  return `processor:${log.logId}`;
}
/** Settings key of the identity rules (their JSON configuration). */
export const IDENTITY_RULES_SETTING = 'identity.rules';

/** Options every processor gets from the configuration. */
export function processorSettings(config: Config): Pick<ProcessorOptions, 'limits' | 'dedupWindowMs' | 'identity'> {
  return {
    limits: config.limits,
    dedupWindowMs: config.dedupWindowMs,
    identity: { rules: DEFAULT_RULES, defaultRegion: config.phoneRegion },
  };
}

/** After another processor moved the cursor: how long this one waits before trying again from there. */
const STANDBY_PAUSE_MS = 2_000;

/** What one committed micro-batch did; plain data so it can cross a worker-thread boundary. */
export interface BatchReport {
  processedSeq: number;
  /** Log position up to which the store's commits survive power loss: the log may forget entries up to it. */
  durableSeq: number;
  stored: number;
  duplicates: number;
  failedByReason: Record<string, number>;
  lastReceivedAt: number;
  identity: IdentityStats;
  /** Collection gate counts: events dropped by reason, and decisions applied to kept events. */
  gateDropped: Record<string, number>;
  gateDecisions: Record<string, number>;
  /** A micro-batch of events (not a command or a sync): its size and timing. */
  batch?: BatchTiming;
}

export interface BatchTiming {
  /** Log messages it consumed. */
  messages: number;
  /** From taking the batch to its commit, ms (its decoding included, unless prepared while the one before committed). */
  busyMs: number;
  /** From the acceptance of its oldest record to its commit, ms: how long the oldest message waited to be stored. */
  delayMs: number;
  /**
   * The store's write lock held, ms: from taking it after the de-duplication claim (any wait for it
   * excluded) to the commit. On PostgreSQL the commit lock, which the processors of all nodes sharing the
   * store take in turn.
   */
  lockMs: number;
}

export class Processor {
  private cursor = 0;
  private running = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private lastDedupSweep = 0;
  private traitNames: Set<string> | null = null;
  /** Operator commands, each applied alone in log order. */
  private readonly commands: CommandStep;
  /** See `BatchReport.durableSeq`. */
  private readonly sync: StoreSync;
  /** Another processor commits this log's batches (see `followMovedCursor`): this one stands by. */
  private standingBy = false;
  private lastStandbyNotice = -Infinity;
  /** The next batch, prepared while the current one commits (stores that commit elsewhere only). */
  private ahead: Promise<PreparedEvents | null> | null = null;

  constructor(private readonly opts: ProcessorOptions) {
    this.sync = new StoreSync(opts.store, (err) => opts.onError?.(err));
    this.commands = new CommandStep({
      store: opts.store,
      identity: opts.identity,
      loadRules: () => this.loadRules(),
      onError: opts.onError,
    });
  }

  /** New entries were appended: wake the loop if it sleeps. */
  notify(): void {
    this.wake?.();
  }

  /** The log position up to which processing survives power loss (see `BatchReport.durableSeq`). */
  get durableSeq(): number {
    return this.sync.durableSeq;
  }

  /** The log position processed so far. */
  get processedSeq(): number {
    return this.cursor;
  }

  private get maxRecords(): number {
    return this.opts.maxRecords ?? 500;
  }

  private get maxMessages(): number {
    return this.opts.maxMessages ?? 5_000;
  }

  private get cursorName(): string {
    return this.opts.cursorName ?? cursorNameFor(this.opts.log);
  }

  async init(): Promise<void> {
    this.cursor = await this.opts.store.readCursor(this.cursorName);
    await this.loadRules();
  }

  private async loadRules(): Promise<void> {
    const rules = await this.opts.store.getSetting(IDENTITY_RULES_SETTING);
    if (rules !== null) {
      const checked = validateRules(JSON.parse(rules));
      if (checked.ok) this.opts.identity.rules = checked.rules;
      else this.opts.onError?.(new Error(`stored identity rules are invalid, using the defaults: ${checked.errors.join('; ')}`));
    }
  }

  /** Process one micro-batch. Returns the number of log records consumed (0 when caught up). */
  async runOnce(): Promise<number> {
    const startedAt = performance.now();
    // A batch prepared while the previous one committed, if it starts where the cursor is.
    const ahead = this.ahead;
    this.ahead = null;
    let batch = ahead === null ? null : await ahead;
    if (batch === null || batch.after !== this.cursor) {
      const records = this.nextRecords(this.cursor);
      if (records.length === 0) return 0;
      if (records[0]!.shape === 'command') return this.runCommand(records[0]!);
      batch = await prepareEvents(this.cursor, records, this.prepareOptions(false));
    }
    return this.commitEvents(batch, startedAt);
  }

  /** The next micro-batch's records after `seq`: events up to the first command, or that command alone (in log order). */
  private nextRecords(seq: number): LogRecord[] {
    const records = this.opts.log.read(seq, this.maxRecords, this.maxMessages);
    const firstCommand = records.findIndex((r) => r.shape === 'command');
    if (firstCommand === 0) return records.slice(0, 1);
    return firstCommand > 0 ? records.slice(0, firstCommand) : records;
  }

  /**
   * Prepare the batch after `seq` while the current one commits, when a full one is waiting (a backlog);
   * null otherwise (or when it failed). Under a steady load, what arrives during the commit then joins the
   * next batch instead of following a small one cut off when the commit began: more commits, each with its
   * round trips, would fall behind.
   */
  private prepareAhead(seq: number): Promise<PreparedEvents | null> {
    const records = this.nextRecords(seq);
    if (records.length === 0 || records[0]!.shape === 'command') return Promise.resolve(null);
    const messages = records.reduce((n, r) => n + r.messages, 0);
    const full = records.length >= this.maxRecords || messages >= this.maxMessages / 2;
    if (!full) return Promise.resolve(null);
    return prepareEvents(seq, records, this.prepareOptions(true)).catch((err: unknown) => {
      this.opts.onError?.(err);
      return null;
    });
  }

  private prepareOptions(yielding: boolean): Parameters<typeof prepareEvents>[2] {
    return { limits: this.opts.limits, gate: this.opts.gate, region: this.opts.identity.defaultRegion, yielding };
  }

  private async commitEvents(batch: PreparedEvents, startedAt: number): Promise<number> {
    const { last, failed } = batch;
    const now = this.opts.now();
    const cursorName = this.cursorName;
    const admitted = batch.events;
    // The batch's turn: from the store's write lock taken after the de-duplication claim (any wait for it
    // excluded; on PostgreSQL the commit lock every node takes in turn) to the commit.
    let lockFrom = 0;
    const committing = this.opts.store.runBatch(async (tx) => {
      const fresh = await tx.claim(admitted, now);
      await tx.lock();
      lockFrom = performance.now();
      const kept = admitted.filter((_, i) => fresh[i]);
      const session = new IdentitySession(tx, this.opts.identity, now);
      this.traitNames ??= await tx.catalogueNames();
      session.setKnownTraitNames(this.traitNames);
      const extracted = await session.prepare(kept);
      const base = await tx.nextFactSeq();
      // Where each event carrying consent was resolved, for the consent follower to apply its choices
      // in order with the merges (a choice belongs to the profile of its moment).
      const inbox = batch.consentInbox;
      const carried = inbox !== undefined && inbox.length > 0 ? new Set(inbox.map((r) => r.dedupKey)) : null;
      const placements = new Map<string, { factSeq: number; profileId: string }>();
      for (let i = 0; i < kept.length; i++) {
        const e = kept[i]!;
        e.ident = session.applyEvent(e, base + i, extracted[i]!);
        if (carried === null || e.ident === null) continue;
        const key = consentInboxKey(e);
        const profileId = carried.has(key) ? session.profileHolding(e.ident) : null;
        if (profileId !== null) placements.set(key, { factSeq: base + i, profileId });
      }
      const identity = session.finish();
      const consentInbox = inbox?.map((r) => {
        const placement = placements.get(r.dedupKey);
        return placement === undefined ? r : { ...r, placement };
      });
      await tx.write({ cursorName, cursorFrom: batch.after, cursorSeq: last.seq, events: kept, failed, now, identity, consentInbox });
      return { stored: kept.length, duplicates: admitted.length - kept.length, stats: session.stats };
    });
    // The database works in another process: decode and gate the next batch meanwhile.
    if (this.opts.store.commitsElsewhere) this.ahead = this.prepareAhead(last.seq);
    const result = await committing.then(
      (r) => ({ ...r, lockMs: performance.now() - lockFrom }),
      (err: unknown) => {
        // Names discovered in a rolled-back batch were never written: read the catalogue again.
        this.traitNames = null;
        // What was prepared after it stays pending until the next try has awaited it (one gate user at a
        // time), which then drops it: it does not follow the cursor, which stays.
        throw err;
      },
    );
    this.cursor = last.seq;
    this.standingBy = false;
    this.opts.log.release(this.cursor);
    this.sync.committed(this.cursor, now);
    const failedByReason: Record<string, number> = {};
    for (const f of failed) failedByReason[f.reason] = (failedByReason[f.reason] ?? 0) + 1;
    this.opts.report({
      processedSeq: last.seq,
      durableSeq: this.sync.durableSeq,
      stored: result.stored,
      duplicates: result.duplicates + batch.duplicatesInBatch,
      failedByReason,
      lastReceivedAt: last.receivedAt,
      identity: result.stats,
      gateDropped: batch.dropped,
      gateDecisions: batch.decisions,
      batch: {
        messages: batch.messages,
        busyMs: performance.now() - startedAt,
        delayMs: Math.max(0, this.opts.now() - batch.firstReceivedAt),
        lockMs: result.lockMs,
      },
    });
    if (now - this.lastDedupSweep > 60_000) {
      this.lastDedupSweep = now;
      await this.opts.store.expireDedupKeys(now - this.opts.dedupWindowMs);
    }
    return batch.records;
  }

  private async runCommand(record: LogRecord): Promise<number> {
    const now = this.opts.now();
    const identity = await this.commands.run(record, { name: this.cursorName, from: this.cursor }, now);
    this.cursor = record.seq;
    this.standingBy = false;
    this.opts.log.release(this.cursor);
    this.sync.committed(this.cursor, now);
    this.opts.report({
      processedSeq: record.seq,
      durableSeq: this.sync.durableSeq,
      stored: 0,
      duplicates: 0,
      failedByReason: {},
      lastReceivedAt: record.receivedAt,
      identity,
      gateDropped: {},
      gateDecisions: {},
    });
    return 1;
  }

  /** Run until stopped: process while there is work, sleep until the log says there is more. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        let n = 0;
        try {
          n = await this.runOnce();
        } catch (err) {
          if (err instanceof CursorMovedError) {
            // Another processor reads this log (instances sharing a NATS stream): it committed first.
            // Carry on from where it got to, after a pause, so that one of the two keeps the lead and the
            // other stands by, taking over within seconds if the first stops.
            await this.followMovedCursor(err);
            continue;
          }
          this.opts.onError?.(err);
          await new Promise((r) => setTimeout(r, 1000));
          continue;
        }
        if (n === 0) {
          if (this.sync.durableSeq < this.cursor) await this.makeDurable().catch((err: unknown) => this.opts.onError?.(err));
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, 250);
            function done() {
              clearTimeout(timer);
              resolve();
            }
            this.wake = done;
          });
          this.wake = null;
        } else {
          // Let the event loop serve requests between micro-batches.
          await new Promise((r) => setImmediate(r));
        }
      }
    })();
  }

  private async followMovedCursor(err: CursorMovedError): Promise<void> {
    const now = this.opts.now();
    if (now - this.lastStandbyNotice >= 60_000) {
      this.lastStandbyNotice = now;
      this.opts.onError?.(new Error(`${err.message}; this one stands by and follows its position`));
    }
    this.standingBy = true;
    await new Promise((r) => setTimeout(r, STANDBY_PAUSE_MS));
    await this.ahead;
    this.ahead = null;
    this.cursor = await this.opts.store.readCursor(this.cursorName);
    this.opts.log.release(this.cursor);
    // What it did is reported by its own instance; this one only moves on.
    this.sync.committed(this.cursor, this.opts.now());
  }

  /**
   * Make every commit so far survive power loss and report it, so that the log can forget what was
   * processed (when idle, and when stopping).
   */
  async makeDurable(): Promise<void> {
    const seq = this.cursor;
    const now = this.opts.now();
    if (!(await this.sync.syncNow(seq, now))) return;
    this.opts.report({
      processedSeq: seq,
      durableSeq: this.sync.durableSeq,
      stored: 0,
      duplicates: 0,
      failedByReason: {},
      lastReceivedAt: now,
      identity: { profilesCreated: 0, merges: 0, warnings: {} },
      gateDropped: {},
      gateDecisions: {},
    });
  }

  /** Stop after the current micro-batch; with `drain`, first process everything already in the log. */
  async stop(options: { drain?: boolean; deadline?: number } = {}): Promise<void> {
    if (options.drain) {
      while (this.running && (options.deadline === undefined || this.opts.now() < options.deadline)) {
        // Nothing readable, and nothing appended that is still on its way to the reader (a log that streams
        // it in); a standby leaves the log to the processor that leads.
        if (this.standingBy || (this.opts.log.read(this.cursor, 1, 1).length === 0 && this.opts.log.headSeq() <= this.cursor)) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.ahead;
    this.ahead = null;
    await this.makeDurable().catch((err: unknown) => this.opts.onError?.(err));
  }
}
