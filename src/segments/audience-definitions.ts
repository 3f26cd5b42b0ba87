/**
 * Which definitions the runner evaluates, and for whom, while a backfill runs.
 *
 * Every segment and computed trait has a live definition (what real time evaluates) and a current one
 * (what the API last stored). They differ while the current one is being computed (`computing`). A
 * backfill job walks every profile in id order, evaluating the job's targets under their current
 * definitions; its cursor splits the profiles in two:
 * - profiles at or before the cursor have been backfilled: real time evaluates them with the `after` set
 *   (job targets under their new definitions);
 * - the others have not: real time evaluates them with the `live` set (the old definitions, or none for
 *   a new target), and the backfill will get to them.
 * So every profile is always evaluated under one consistent set of definitions, and when the cursor
 * has passed every profile, `after` becomes the live set.
 */
import { compileAudiences, type CompiledAudiences, type ComputedTraitInput, type SegmentInput } from '../core/segments/index.ts';
import type { ComputedTraitRecord, SegmentRecord } from '../storage/segments/segment-store.ts';

export interface JobTarget {
  kind: 'segment' | 'trait';
  id: string;
  generation: number;
}

/** The backfill in progress, as persisted (`audience_jobs`). */
export interface BackfillJob {
  signature: string;
  targets: JobTarget[];
  /** Profiles with an id up to this one are done ('' before the first). */
  cursor: string;
  total: number;
  done: number;
}

export interface AudiencePlan {
  live: CompiledAudiences;
  /** With the job's targets under their new definitions; null when no backfill is needed. */
  after: CompiledAudiences | null;
  targets: JobTarget[];
  /** Segments whose changes are published to the feed: those that have been live. */
  publish: Set<string>;
  /** Deleted records whose rows the runner must remove. */
  deletedSegments: SegmentRecord[];
  deletedTraits: ComputedTraitRecord[];
  /** Job targets that cannot compile, with the reason (they fail instead). */
  failures: Array<{ target: JobTarget; error: string }>;
}

export function signatureOf(targets: readonly JobTarget[]): string {
  return targets
    .map((t) => `${t.kind}:${t.id}:${t.generation}`)
    .sort()
    .join(',');
}

function compileOrThrow(segments: SegmentInput[], traits: ComputedTraitInput[], what: string): CompiledAudiences {
  const compiled = compileAudiences(segments, traits);
  if (!compiled.ok)
    throw new Error(`${what} definitions do not compile: ${compiled.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return compiled.value;
}

/** Work out the live and backfill sets from every stored record (deleted ones included). */
export function planAudiences(segments: readonly SegmentRecord[], traits: readonly ComputedTraitRecord[]): AudiencePlan {
  const liveSegments = segments.filter((s) => !s.deleted && s.liveRule !== null);
  const liveTraits = traits.filter((t) => !t.deleted && t.liveDefinition !== null);
  const live = compileOrThrow(
    liveSegments.map((s) => ({ id: s.id, rule: s.liveRule })),
    liveTraits.map((t) => ({ id: t.id, definition: t.liveDefinition })),
    'live',
  );
  const computingSegments = segments.filter((s) => !s.deleted && s.status === 'computing');
  const computingTraits = traits.filter((t) => !t.deleted && t.status === 'computing');
  const targets: JobTarget[] = [
    ...computingSegments.map((s) => ({ kind: 'segment' as const, id: s.id, generation: s.generation })),
    ...computingTraits.map((t) => ({ kind: 'trait' as const, id: t.id, generation: t.generation })),
  ];
  const base = {
    live,
    publish: new Set(liveSegments.map((s) => s.id)),
    deletedSegments: segments.filter((s) => s.deleted),
    deletedTraits: traits.filter((t) => t.deleted),
  };
  if (targets.length === 0) return { ...base, after: null, targets, failures: [] };
  const segmentIds = new Set(computingSegments.map((s) => s.id));
  const traitIds = new Set(computingTraits.map((t) => t.id));
  const after = compileAudiences(
    [
      ...liveSegments.filter((s) => !segmentIds.has(s.id)).map((s) => ({ id: s.id, rule: s.liveRule })),
      ...computingSegments.map((s) => ({ id: s.id, rule: s.rule })),
    ],
    [
      ...liveTraits.filter((t) => !traitIds.has(t.id)).map((t) => ({ id: t.id, definition: t.liveDefinition })),
      ...computingTraits.map((t) => ({ id: t.id, definition: t.definition })),
    ],
  );
  if (!after.ok) {
    const error = after.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
    return { ...base, after: null, targets: [], failures: targets.map((target) => ({ target, error })) };
  }
  return { ...base, after: after.value, targets, failures: [] };
}
