/**
 * Backfill: evaluating new or changed definitions over every existing profile, in bounded chunks
 * between the runner's real-time steps (see step 3 of `audience-runner.ts`). Each chunk is read and
 * evaluated on a snapshot (`readChunk`), then written in a short transaction (`writeChunk`). When every
 * target is a segment whose rule the SQL fast path compiles, a snapshot of the candidates comes first and
 * only they (plus whoever changed since, or holds a membership or timer of a target) are evaluated.
 *
 * When the job has one target, which no other definition reads, and its rule offers a history query
 * (`HistoryQuery` in `sql/compile-rule.ts`: counts of named events), the snapshot also holds every
 * candidate's events that the rule can still count, read in one set-based pass over the event index.
 * Those candidates are then evaluated for the target alone from that history, without reading their
 * events from the event table one profile at a time; profiles touched since the snapshot are read as usual.
 */
import type { CompiledAudiences, ProfileEvent } from '../core/segments/index.ts';
import type {
  AudienceReader,
  AudienceTx,
  AudienceView,
  HistoryFilter,
  ProfileWrite,
  SegmentStore,
  StoredAudienceProfile,
} from '../storage/segments/segment-store.ts';
import type { AudiencePlan, BackfillJob } from './audience-definitions.ts';
import { evaluateStored } from './audience-step.ts';
import { RULE_DIALECTS } from './sql/dialects.ts';
import { compileRuleSql, historyEvents, type HistoryQuery } from './sql/compile-rule.ts';

/** The fast backfill's snapshot (see the top of this file); in memory only: after a restart a new one is taken. */
interface FastBackfill {
  /** Candidates after the job's cursor at the snapshot, in id order; `next` is the first not yet evaluated. */
  ids: string[];
  next: number;
  /** Events and merges up to these positions were in the snapshot; profiles touched after it are in `touched`. */
  eventSeq: number;
  mergeId: number;
  touched: Set<string>;
  /** With a history query: each candidate's event times per leaf, as of the snapshot (see the top of this file). */
  histories: { leaves: HistoryQuery['leaves']; times: Map<string, number[][]> } | null;
}

/** What one chunk decided on a snapshot (`readChunk`), for `writeChunk` to write. */
export interface ChunkPlan {
  /** The job as it stood when the chunk was read. */
  job: BackfillJob;
  now: number;
  writes: ProfileWrite[];
  /** Profiles evaluated. */
  evaluated: number;
  /** The job after this chunk; null when it was the last one (the targets go live). */
  next: BackfillJob | null;
  progress: number;
  /** In-memory bookkeeping of the fast path, done once the write has committed. */
  after: () => void;
}

/** Events and merges read per page when catching up on what touched profiles since the snapshot. */
const TOUCHED_PAGE = 5000;

export interface BackfillDeps {
  /** Reads outside the runner's transactions: the snapshot (a long scan) must not hold the write lock. */
  reader: AudienceReader;
  now: () => number;
  backend: SegmentStore['backend'];
  /** Profiles per chunk. */
  chunk: number;
  /** What of a history the current definitions read. */
  history: () => HistoryFilter;
}

/** The job in progress (stored with the runner's state, so a restart resumes it) and its snapshot. */
export class Backfill {
  job: BackfillJob | null = null;
  /** undefined: not decided for the current job; null: the job takes every profile. */
  private fast: FastBackfill | null | undefined = undefined;

  constructor(private readonly deps: BackfillDeps) {}

  /** A new or resumed job, or none; a snapshot taken for an earlier job is dropped. */
  reset(job: BackfillJob | null): void {
    this.job = job;
    this.fast = undefined;
  }

  /** The definitions a profile is evaluated with in real time: the new ones once the backfill has passed it. */
  compiledFor(profileId: string, plan: AudiencePlan): CompiledAudiences {
    const job = this.job;
    return job !== null && plan.after !== null && job.cursor !== '' && profileId <= job.cursor ? plan.after : plan.live;
  }

  /**
   * Before the first chunk of a job, outside any transaction: decide whether it takes the fast path,
   * and if so take its snapshot (see the top of this file).
   */
  async prepare(plan: AudiencePlan): Promise<void> {
    if (this.job !== null && this.fast === undefined) this.fast = await this.snapshot(plan, this.job);
  }

  /**
   * The reading half of one chunk of the job (after `prepare`), on a snapshot and without the write
   * lock: which profiles, evaluated under the job's definitions. `writeChunk` writes it.
   */
  async readChunk(view: AudienceView, plan: AudiencePlan): Promise<ChunkPlan> {
    const job = this.job as BackfillJob;
    if (this.fast === undefined) throw new Error('Backfill.prepare() must run before the first chunk');
    if (this.fast !== null) return this.readFastChunk(view, plan, job, this.fast);
    const now = this.deps.now();
    const ids = await view.profileIdsAfter(job.cursor, this.deps.chunk);
    const next: BackfillJob = { ...job, cursor: ids[ids.length - 1] ?? job.cursor, done: job.done + ids.length };
    return {
      job,
      now,
      writes: await this.evaluateChunk(view, plan, job, ids, now),
      evaluated: ids.length,
      next: ids.length < this.deps.chunk ? null : next,
      progress: Math.min(0.99, next.done / Math.max(1, next.total)),
      after: () => {},
    };
  }

  /**
   * The writing half, in `tx`: the chunk's writes (of profiles that still exist) and the job's new
   * cursor, or, after the last chunk, its targets going live. Nothing is written when the stored job is
   * no longer the one the chunk was read for (another runner on the same SQLite file moved it): then it
   * returns false, else true.
   */
  async writeChunk(tx: AudienceTx, chunk: ChunkPlan): Promise<boolean> {
    if ((await tx.job()) !== JSON.stringify(chunk.job)) return false;
    const live = await tx.existingProfiles(chunk.writes.map((w) => w.profileId));
    await tx.apply(chunk.writes.filter((w) => live.has(w.profileId)));
    if (chunk.next === null) await this.finish(tx, chunk.job, chunk.now);
    else await this.advance(tx, chunk.next, chunk.progress);
    return true;
  }

  /** After the chunk's write committed: move the in-memory state on with it. */
  committed(chunk: ChunkPlan): void {
    chunk.after();
    if (chunk.next === null) {
      this.job = null;
      this.fast = undefined;
    } else this.job = chunk.next;
  }

  /** Evaluate these profiles under the job's definitions: what to write. */
  private async evaluateChunk(
    view: AudienceView,
    plan: AudiencePlan,
    job: BackfillJob,
    ids: readonly string[],
    now: number,
  ): Promise<ProfileWrite[]> {
    const after = plan.after as CompiledAudiences;
    const states = await view.loadProfiles(ids, this.deps.history());
    const writes: ProfileWrite[] = [];
    for (const stored of states.values()) {
      if (stored.exists) writes.push(evaluateStored(after, stored, [targetsTrigger(job)], now, plan.publish, 'backfill'));
    }
    return writes;
  }

  /**
   * Evaluate these profiles for the job's one target from the snapshot's histories (none: no event the
   * rule can still count). They stay unknown to the runner if they were: only the target was evaluated.
   */
  private async evaluateFromHistories(
    view: AudienceView,
    plan: AudiencePlan,
    job: BackfillJob,
    ids: readonly string[],
    histories: NonNullable<FastBackfill['histories']>,
    now: number,
  ): Promise<ProfileWrite[]> {
    const after = plan.after as CompiledAudiences;
    const states = await view.loadProfiles(ids, { eventNames: new Set(), properties: false });
    const writes: ProfileWrite[] = [];
    for (const stored of states.values()) {
      if (!stored.exists) continue;
      const profile: StoredAudienceProfile = { ...stored, events: eventsFrom(histories, stored.profileId) };
      writes.push(evaluateStored(after, profile, [targetsTrigger(job)], now, plan.publish, 'backfill', true));
    }
    return writes;
  }

  private async advance(tx: AudienceTx, next: BackfillJob, progress: number): Promise<void> {
    for (const t of next.targets) await tx.setProgress(t.kind, t.id, t.generation, progress);
    await tx.setJob(JSON.stringify(next));
  }

  /** Every profile has been evaluated under the new definitions: they go live (unless edited meanwhile). */
  private async finish(tx: AudienceTx, job: BackfillJob, now: number): Promise<void> {
    for (const t of job.targets) await tx.goLive(t.kind, t.id, t.generation, now);
    await tx.recordSizes(
      job.targets.filter((t) => t.kind === 'segment').map((t) => t.id),
      now,
    );
    await this.dropStaleKeys(tx);
    await tx.setJob(null);
  }

  /** The candidates of a fast backfill, or null when some target does not compile (every profile is evaluated). */
  private async snapshot(plan: AudiencePlan, job: BackfillJob): Promise<FastBackfill | null> {
    const after = plan.after as CompiledAudiences;
    if (job.targets.some((t) => t.kind !== 'segment')) return null;
    const computedKeys = new Set(after.traits.map((t) => t.key));
    const dialect = RULE_DIALECTS[this.deps.backend];
    const now = this.deps.now();
    const queries = [];
    let history: HistoryQuery | null = null;
    for (const t of job.targets) {
      const segment = after.segments[after.segmentPosition.get(t.id) ?? -1];
      if (segment === undefined) return null;
      const compiled = compileRuleSql(segment.rule, dialect, now, { computedKeys });
      if (!compiled.ok) return null;
      queries.push(compiled.queries.candidates);
      // Evaluating the target alone is exact only when nothing else reads it (its dependents would see a cut history).
      if (job.targets.length === 1 && segment.dependents.length === 0) history = compiled.queries.histories;
    }
    // Positions first: anything stored after them is read as "touched", so nothing falls in between.
    const reader = this.deps.reader;
    const positions = await reader.latestPositions();
    const ids = new Set<string>();
    let histories: FastBackfill['histories'] = null;
    if (history !== null) {
      histories = { leaves: history.leaves, times: new Map() };
      for (const r of await reader.selectHistories(history.query, history.leaves.length)) {
        if (r.profileId <= job.cursor) continue;
        ids.add(r.profileId);
        histories.times.set(r.profileId, r.times);
      }
    } else {
      for (const q of queries) for (const r of await reader.selectProfiles(q)) if (r.profileId > job.cursor) ids.add(r.profileId);
    }
    return {
      ids: [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
      next: 0,
      eventSeq: positions.eventSeq,
      mergeId: positions.mergeId,
      touched: new Set(),
      histories,
    };
  }

  /** One chunk of a fast backfill: the next candidates, and whoever else in their id range may differ. */
  private async readFastChunk(view: AudienceView, plan: AudiencePlan, job: BackfillJob, fast: FastBackfill): Promise<ChunkPlan> {
    const now = this.deps.now();
    await this.readTouched(view, fast);
    const end = Math.min(fast.next + this.deps.chunk, fast.ids.length);
    // The chunk covers the id range (cursor, upTo]; the last one runs to the end of the profiles.
    const upTo = end < fast.ids.length ? (fast.ids[end - 1] as string) : null;
    const inRange = (id: string) => id > job.cursor && (upTo === null || id <= upTo);
    const ids = new Set(fast.ids.slice(fast.next, end));
    for (const id of fast.touched) if (inRange(id)) ids.add(id);
    const segmentIds = job.targets.map((t) => t.id);
    for (const id of await view.holdersOf(segmentIds, job.cursor, upTo)) ids.add(id);
    const chunk = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const histories = fast.histories;
    let writes: ProfileWrite[];
    let known: string[] = [];
    if (histories === null) writes = await this.evaluateChunk(view, plan, job, chunk, now);
    else {
      // Profiles touched since the snapshot have histories it did not see: theirs are read as usual.
      const read = chunk.filter((id) => fast.touched.has(id));
      known = chunk.filter((id) => !fast.touched.has(id));
      writes = [
        ...(await this.evaluateChunk(view, plan, job, read, now)),
        ...(await this.evaluateFromHistories(view, plan, job, known, histories, now)),
      ];
    }
    return {
      job,
      now,
      writes,
      evaluated: chunk.length,
      next: upTo === null ? null : { ...job, cursor: upTo, done: job.done + chunk.length },
      progress: Math.min(0.99, end / Math.max(1, fast.ids.length)),
      after: () => {
        fast.next = end;
        for (const id of known) histories?.times.delete(id);
      },
    };
  }

  /** Profiles that events or merges stored after the snapshot touched (their owners as of now). */
  private async readTouched(view: AudienceView, fast: FastBackfill): Promise<void> {
    for (;;) {
      const events = await view.eventsAfter(fast.eventSeq, TOUCHED_PAGE);
      const idents = [...new Set(events.flatMap((e) => (e.ident === null ? [] : [e.ident])))];
      for (const profileId of (await view.profilesOfIdents(idents)).values()) fast.touched.add(profileId);
      const last = events[events.length - 1];
      if (last) fast.eventSeq = last.seq;
      if (events.length < TOUCHED_PAGE) break;
    }
    for (;;) {
      const merges = await view.mergesAfter(fast.mergeId, TOUCHED_PAGE);
      for (const m of merges) for (const id of [m.profileId, ...m.otherIds]) fast.touched.add(id);
      const last = merges[merges.length - 1];
      if (last) fast.mergeId = last.id;
      if (merges.length < TOUCHED_PAGE) break;
    }
  }

  /** Values under keys that a finished backfill replaced (a computed trait given a new key) go. */
  private async dropStaleKeys(tx: AudienceTx): Promise<void> {
    const traits = (await tx.listComputedTraits()).filter((t) => !t.deleted);
    const used = new Set(
      traits.flatMap((t) => [t.definition.key, ...(t.status === 'live' && t.liveDefinition ? [t.liveDefinition.key] : [])]),
    );
    for (const t of traits) {
      const old = t.liveDefinition?.key;
      if (old !== undefined && !used.has(old)) await tx.dropComputedKey(old);
    }
  }
}

/** Re-evaluate the job's targets. */
function targetsTrigger(job: BackfillJob) {
  return {
    kind: 'timer' as const,
    segmentIds: job.targets.filter((t) => t.kind === 'segment').map((t) => t.id),
    traitIds: job.targets.filter((t) => t.kind === 'trait').map((t) => t.id),
  };
}

/** A candidate's events from the snapshot (a profile without any: none). */
function eventsFrom(histories: NonNullable<FastBackfill['histories']>, profileId: string): ProfileEvent[] {
  const times = histories.times.get(profileId);
  return times === undefined ? [] : historyEvents(histories.leaves, times);
}
