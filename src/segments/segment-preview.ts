/**
 * Preview: a rule evaluated over every profile, storing nothing. Other segments are read as they are
 * now (their live memberships), computed traits by their current values. A rule the SQL fast path
 * compiles is answered by one set-based query (the few rows it is unsure of go through the evaluator);
 * any other rule goes through the reference evaluator, profile by profile, its history cut to the events
 * the rule reads.
 */
import { TesseraError } from '../core/errors/catalogue.ts';
import { compileAudiences, conditionReads, describeProblems, evaluate, visibleTraits, type Condition } from '../core/segments/index.ts';
import type { SegmentStore, StoredAudienceProfile } from '../storage/segments/segment-store.ts';
import { RULE_DIALECTS } from './sql/dialects.ts';
import { compileRuleSql } from './sql/compile-rule.ts';

export interface PreviewResult {
  count: number;
  sample: string[];
  evaluatedProfiles: number;
  elapsedMs: number;
  /** `sql`: the set-based fast path (`src/segments/sql/`); `scan`: every profile through the reference evaluator. */
  method: 'sql' | 'scan';
}

const PREVIEW_ID = '__preview__';
const PAGE = 500;

export async function previewRule(store: SegmentStore, rule: Condition, now: number, sampleSize: number): Promise<PreviewResult> {
  const started = performance.now();
  const segments = (await store.listSegments()).filter((s) => s.liveRule !== null);
  const traits = (await store.listComputedTraits()).filter((t) => t.liveDefinition !== null);
  const compiled = compileAudiences(
    [...segments.map((s) => ({ id: s.id, rule: s.liveRule })), { id: PREVIEW_ID, rule }],
    traits.map((t) => ({ id: t.id, definition: t.liveDefinition })),
  );
  if (!compiled.ok) throw new TesseraError('validation_failed', describeProblems(compiled.problems));
  // Only the rule is evaluated (other segments and computed traits are read as stored): its events suffice.
  const reads = conditionReads(rule);
  const history = { eventNames: reads.anyEvent ? null : reads.eventNames, properties: reads.properties };
  const snapshotOf = (p: StoredAudienceProfile) => ({
    traits: visibleTraits(compiled.value, p.traits, p.computed),
    events: p.events,
    segments: new Set(p.memberships.keys()),
  });
  const fast = compileRuleSql(rule, RULE_DIALECTS[store.backend], now, {
    computedKeys: new Set(compiled.value.traits.map((t) => t.key)),
  });
  if (fast.ok) {
    // Members straight from SQL; the few it is unsure of (see compile-rule.ts) go through the evaluator.
    const rows = await store.selectProfiles(fast.queries.members);
    const members = rows.filter((r) => !r.unsure).map((r) => r.profileId);
    const unsure = rows.filter((r) => r.unsure).map((r) => r.profileId);
    for (let i = 0; i < unsure.length; i += PAGE) {
      for (const p of (await store.loadProfiles(unsure.slice(i, i + PAGE), history)).values()) {
        if (p.exists && evaluate(rule, snapshotOf(p), now)) members.push(p.profileId);
      }
    }
    members.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      count: members.length,
      sample: members.slice(0, sampleSize),
      evaluatedProfiles: await store.countProfiles(),
      elapsedMs: Math.round(performance.now() - started),
      method: 'sql',
    };
  }
  const sample: string[] = [];
  let count = 0;
  let evaluated = 0;
  let after = '';
  for (;;) {
    const ids = await store.profileIdsAfter(after, PAGE);
    const states = await store.loadProfiles(ids, history);
    for (const p of states.values()) {
      if (!p.exists) continue;
      evaluated++;
      if (evaluate(rule, snapshotOf(p), now)) {
        count++;
        if (sample.length < sampleSize) sample.push(p.profileId);
      }
    }
    if (ids.length < PAGE) break;
    after = ids[ids.length - 1] as string;
  }
  return { count, sample, evaluatedProfiles: evaluated, elapsedMs: Math.round(performance.now() - started), method: 'scan' };
}
