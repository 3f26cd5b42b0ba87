/**
 * # The audience runner: the real-time engine around the pure core
 *
 * Strategy: one follower, the only writer of memberships, timers and computed values. Each step:
 * 1. reload the definitions when their version moved (purge deleted ones, start or resume a backfill):
 *    read and compiled on a snapshot, applied in a short write transaction;
 * 2. the real-time step (`audience-realtime.ts`): on ONE snapshot, holding no write lock, read the merge log and the events after its cursors, and
 *    the timers due by `now`; group what happened by profile (an event → its identifier's current
 *    profile; a merge or unmerge → `all` for the profiles it names, absorbed ids leave every segment; a
 *    due timer → its targets); load each profile's traits, history (cut to what the definitions read),
 *    memberships and computed values. Evaluate (`evaluateProfile`) with no transaction open. Then in ONE
 *    short write transaction, after checking that the cursors have not moved: remove the due timers,
 *    write memberships, audience events, timers, computed values (of profiles that still exist) and the
 *    cursors. A crash before the commit replays the step, after it never: exactly once. Loading and
 *    evaluating is most of a step: on SQLite the processor's commits no longer wait for it;
 * 3. one bounded chunk of the backfill (`audience-backfill.ts`), if one runs: read and evaluated on a
 *    snapshot, then written in a short transaction, as a real-time step is.
 *    When every target is a segment whose rule the SQL fast path compiles (`sql/compile-rule.ts`), the
 *    backfill first takes a snapshot, outside any transaction (a long scan must not hold the write
 *    lock): one set-based query gives the CANDIDATES (members at `now`, and profiles with an event that
 *    time alone can still make count or stop counting), and the positions of the events and merge log.
 *    Every other profile is out at `now` and stays out until new data arrives, so the reference
 *    engine would store nothing for it: the chunks evaluate, with the same per-profile code, only the
 *    candidates, plus the profiles touched since the snapshot (events, merges: read incrementally) and
 *    those holding a membership or timer of a target. The cursor then jumps from candidate to
 *    candidate, so real time switches to the new definitions exactly as before.
 * Steps are bounded (`limits`), so whatever shares the thread (when run inline) and the processor's
 * transactions, which take the same write lock on SQLite, never wait long. The runner has a thread of its
 * own beside a processor thread (`audience-thread.ts`). No periodic scan: the runner sleeps until the
 * processor reports a batch (`notify`), until the earliest timer is due (one setTimeout, re-armed after
 * each step), or until a slow poll (definition changes made by another thread or process, events written
 * by another node).
 * `now` is injected: tests drive `step()` with their own clock and never sleep.
 */
import { historyNeeds } from '../core/segments/index.ts';
import type { AudienceLease, HistoryFilter, SegmentStore } from '../storage/segments/segment-store.ts';
import { planAudiences, signatureOf, type AudiencePlan, type BackfillJob } from './audience-definitions.ts';
import { Backfill } from './audience-backfill.ts';
import { realtimeStep, type StepReport } from './audience-realtime.ts';

export { EVENTS_CURSOR, MERGES_CURSOR, type StepPhases, type StepReport } from './audience-realtime.ts';

export interface RunnerLimits {
  /** Events, merge log entries and due timers read per step (each profile is evaluated once per step). */
  events: number;
  merges: number;
  timers: number;
  /** Profiles per backfill transaction. */
  backfillChunk: number;
}

/**
 * A profile touched by several events of one step is evaluated once, so bigger steps cost less per event
 * when the runner is behind (and change nothing when it is not: a step takes what there is). With the
 * step's write transaction holding only its writes, 500 events a step fell seconds behind a 10k events/s
 * load with 50 live segments; 2,000 and 5,000 kept up with the same latency, and 5,000 cost ~3 points
 * less throughput with 50 segments and 20 computed traits (runs interleaved, `docs/benchmarks-history.md`).
 */
export const DEFAULT_LIMITS: Omit<RunnerLimits, 'backfillChunk'> = { events: 5000, merges: 50, timers: 500 };

/**
 * Profiles per backfill chunk by default. On SQLite a chunk's write holds the one write lock that the
 * processor's commits need (its reading and evaluating do not), so chunks stay small. On PostgreSQL a chunk
 * blocks no other writer, and each costs a dozen round trips: 5,000 profiles a chunk took a 3M-event
 * backfill from 3.6–4.0 s to 3.0–3.2 s.
 */
const BACKFILL_CHUNK: Record<SegmentStore['backend'], number> = { sqlite: 1000, postgres: 5000 };

export interface RunnerOptions {
  store: SegmentStore;
  now: () => number;
  onError?: (err: unknown) => void;
  /** After each real-time step that had work (metrics: `tessera_audience_*`). */
  onStep?: (report: StepReport) => void;
  limits?: Partial<RunnerLimits>;
  /** Idle poll (ms): the fallback for changes nobody told this runner about. */
  pollMs?: number;
  /** How often a standby runner tries to take the lease (ms). */
  standbyRetryMs?: number;
}

export class AudienceRunner {
  private lease: AudienceLease | null = null;
  private version = -1;
  private plan: AudiencePlan | null = null;
  /** What any current definition reads (live or being backfilled): the rest of a history is never loaded. */
  private history: HistoryFilter = { eventNames: null, properties: true };
  private readonly backfill: Backfill;
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private pending = false;
  private readonly limits: RunnerLimits;

  constructor(private readonly opts: RunnerOptions) {
    this.limits = { ...DEFAULT_LIMITS, backfillChunk: BACKFILL_CHUNK[opts.store.backend], ...opts.limits };
    this.backfill = new Backfill({
      reader: opts.store,
      now: opts.now,
      backend: opts.store.backend,
      chunk: this.limits.backfillChunk,
      history: () => this.history,
    });
  }

  /** Something happened (the processor committed a batch): run soon. */
  notify(): void {
    this.pending = true;
    const wake = this.wake;
    if (wake) setImmediate(wake);
  }

  /** Is this runner the active one (it holds the lease)? */
  get active(): boolean {
    return this.lease !== null;
  }

  /** One step; null when another runner holds the lease. */
  async step(): Promise<StepReport | null> {
    const lease = await this.ensureLease();
    if (!lease) return null;
    if ((await lease.definitionsVersion()) !== this.version || this.plan === null) await this.reload(lease);
    const plan = this.plan as AudiencePlan;
    const report = await realtimeStep(lease, plan, {
      now: this.opts.now(),
      limits: this.limits,
      history: this.history,
      compiledFor: (profileId) => this.backfill.compiledFor(profileId, plan),
    });
    if (report.phases) this.opts.onStep?.(report);
    if (this.backfill.job) {
      await this.backfill.prepare(plan);
      // As a real-time step: read and evaluate on a snapshot, then write in a short transaction.
      const chunk = await lease.read((view) => this.backfill.readChunk(view, plan), { cached: false });
      if (await lease.run((tx) => this.backfill.writeChunk(tx, chunk))) {
        this.backfill.committed(chunk);
        report.backfilled = chunk.evaluated;
      } else this.version = -1; // another runner moved the job: take it up from what is stored
      // Done: the live set is now what `after` was; reload.
      if (this.backfill.job === null) this.version = -1;
    }
    return report;
  }

  /** The earliest pending timer (null: none, or not the active runner). */
  async nextDueAt(): Promise<number | null> {
    const lease = await this.ensureLease();
    return lease ? lease.nextDueAt() : null;
  }

  /** Step until nothing is left to do at the current `now` (tests, CLI). */
  async runUntilIdle(): Promise<void> {
    for (;;) {
      const r = await this.step();
      if (r === null || (r.events + r.merges + r.timers + r.backfilled === 0 && this.backfill.job === null)) return;
    }
  }

  private async ensureLease(): Promise<AudienceLease | null> {
    this.lease ??= await this.opts.store.acquireLease();
    return this.lease;
  }

  /**
   * Load the definitions. They are read and compiled on a snapshot, holding no write lock: compiling
   * every rule is the slow part of a reload, and on SQLite every other writer (the processor, an API
   * call creating the next segment) would wait for it. Then one short write transaction applies the
   * plan, after checking that the version it was made for is still the current one (else: again).
   */
  private async reload(lease: AudienceLease): Promise<void> {
    for (;;) {
      const seen = await lease.read(
        async (view) => ({
          version: await view.definitionsVersion(),
          segments: await view.listSegments(),
          traits: await view.listComputedTraits(),
        }),
        { cached: false },
      );
      const plan = planAudiences(seen.segments, seen.traits);
      const job = await lease.run(async (tx): Promise<{ job: BackfillJob | null } | null> => {
        if ((await tx.definitionsVersion()) !== seen.version) return null;
        if (plan.failures.length > 0) {
          // A definition that does not compile fails alone; plan again without it.
          for (const f of plan.failures) await tx.fail(f.target.kind, f.target.id, f.target.generation, f.error, this.opts.now());
          return null;
        }
        for (const s of plan.deletedSegments) await tx.purgeSegment(s.id);
        const usedKeys = new Set(
          seen.traits.filter((t) => !t.deleted).flatMap((t) => [t.definition.key, ...(t.liveDefinition ? [t.liveDefinition.key] : [])]),
        );
        for (const t of plan.deletedTraits) await tx.purgeComputedTrait(t.id, usedKeys.has(t.definition.key) ? null : t.definition.key);
        const signature = signatureOf(plan.targets);
        const stored = await tx.job();
        const previous = stored === null ? null : (JSON.parse(stored) as BackfillJob);
        let job: BackfillJob | null = null;
        if (plan.targets.length === 0) job = null;
        else if (previous?.signature === signature) job = previous;
        else job = { signature, targets: plan.targets, cursor: '', total: await tx.countProfiles(), done: 0 };
        await tx.setJob(job === null ? null : JSON.stringify(job));
        return { job };
      });
      if (job === null) continue;
      this.backfill.reset(job.job);
      this.plan = plan;
      this.history = historyNeeds(plan.live, plan.after);
      this.version = seen.version;
      return;
    }
  }

  // ---- the loop ----

  /** Run in the background until `stop()`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        let busy = false;
        try {
          this.pending = false;
          const r = await this.step();
          busy = r !== null && (r.events + r.merges + r.timers + r.backfilled > 0 || this.backfill.job !== null);
        } catch (err) {
          this.opts.onError?.(err);
          await this.dropLease();
          this.version = -1;
          await this.sleep(1000);
          continue;
        }
        if (busy || this.pending) await new Promise((r) => setImmediate(r));
        else await this.sleep(await this.idleDelay());
      }
    })();
  }

  private async idleDelay(): Promise<number> {
    if (!this.lease) return this.opts.standbyRetryMs ?? 5000;
    const poll = this.opts.pollMs ?? 1000;
    const due = await this.lease.nextDueAt();
    return due === null ? poll : Math.max(0, Math.min(poll, due - this.opts.now()));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private async dropLease(): Promise<void> {
    const lease = this.lease;
    this.lease = null;
    await lease?.release().catch(() => {});
  }

  /** Stop after the current step and give up the lease. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.dropLease();
  }
}
