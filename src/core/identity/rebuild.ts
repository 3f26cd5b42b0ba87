/**
 * Recomputing profiles from facts: full `rebuild`, and `unmerge`, which rebuilds one scope of the graph.
 *
 * Unmerge semantic. An unmerge fact for identifier x (log position s) rewrites, during replay, the facts
 * recorded before it (seq < s):
 * - each link fact that mentions x and other identifiers is split in two links: x together with the
 *   identifiers *only x brought* (those whose every multi-identifier link before s contains x), and the
 *   rest. Each part is applied like a separate event with the fact's time and provenance.
 * - each operator merge is revoked when, at its turn in the replay, x is on one of its two sides.
 * Facts recorded after the unmerge apply normally: if the person logs in again with both ids, they link.
 * Profiles formed by a wrong link or merge are thereby restored exactly as they were before it.
 */
import type { FactRef, IdentityFact, LinkFact, MergeFact, UnmergeFact } from './facts.ts';
import { compareFacts, factIdentifiers } from './facts.ts';
import { identifierKey, type Identifier } from './identifiers.ts';
import { IdentityGraph, type ProfileSnapshot, type ResolutionOutcome } from './resolve.ts';
import { rejectionOf, type IdentityRules } from './rules.ts';
import type { IdentityWarning } from './warnings.ts';

export type OutcomeListener = (fact: LinkFact | MergeFact, outcome: ResolutionOutcome) => void;

/** Replay `facts` in canonical order (event time, then seq) into a fresh graph. */
export function rebuild(facts: readonly IdentityFact[], rules: IdentityRules, onOutcome?: OutcomeListener): IdentityGraph {
  const graph = new IdentityGraph();
  const ordered = facts.filter((f): f is LinkFact | MergeFact => f.kind !== 'unmerge').sort(compareFacts);
  const unmerges = facts
    .filter((f): f is UnmergeFact => f.kind === 'unmerge' && rejectionOf(f.identifier, rules) === null)
    .sort((a, b) => a.seq - b.seq);
  const plan = planUnmerges(ordered, unmerges, rules);
  // Not `onOutcome?.(fact, graph.apply(…))`: optional calls skip evaluating their arguments.
  const apply = (fact: LinkFact | MergeFact): void => {
    const outcome = graph.apply(fact, rules);
    if (onOutcome !== undefined) onOutcome(fact, outcome);
  };
  for (const fact of ordered) {
    if (fact.kind === 'link') {
      const parts = plan.splits.get(fact.seq);
      if (parts === undefined) apply(fact);
      else for (const identifiers of parts) apply({ ...fact, identifiers });
    } else {
      const isolated = plan.isolated.get(fact.seq);
      if (isolated === undefined || !separates(graph, fact, isolated)) apply(fact);
    }
  }
  return graph;
}

interface UnmergePlan {
  /** Link fact seq → the identifier lists it is applied as. */
  splits: Map<number, Identifier[][]>;
  /** Merge fact seq → identifiers that must not be joined by it. */
  isolated: Map<number, Identifier[]>;
}

function planUnmerges(ordered: readonly (LinkFact | MergeFact)[], unmerges: readonly UnmergeFact[], rules: IdentityRules): UnmergePlan {
  const splits = new Map<number, Identifier[][]>();
  const isolated = new Map<number, Identifier[]>();
  const links = new Map<number, LinkFact>();
  for (const f of ordered) if (f.kind === 'link') links.set(f.seq, f);
  for (const u of unmerges) {
    const x = identifierKey(u.identifier);
    // Usable keys of every part (after earlier unmerges) of the link facts recorded before u.
    const parts: { seq: number; index: number; keys: string[] }[] = [];
    for (const fact of ordered) {
      if (fact.seq >= u.seq) continue;
      if (fact.kind === 'merge') {
        const list = isolated.get(fact.seq) ?? [];
        list.push(u.identifier);
        isolated.set(fact.seq, list);
        continue;
      }
      (splits.get(fact.seq) ?? [fact.identifiers]).forEach((part, index) => {
        const keys = [...new Set(part.filter((id) => rejectionOf(id, rules) === null).map(identifierKey))];
        if (keys.length > 1) parts.push({ seq: fact.seq, index, keys });
      });
    }
    const linkedWithoutX = new Set<string>();
    for (const p of parts) if (!p.keys.includes(x)) for (const k of p.keys) linkedWithoutX.add(k);
    for (const p of parts) {
      if (!p.keys.includes(x)) continue;
      const current = splits.get(p.seq) ?? [(links.get(p.seq) as LinkFact).identifiers];
      const part = current[p.index] as readonly Identifier[];
      const goesWithX = (id: Identifier): boolean => identifierKey(id) === x || !linkedWithoutX.has(identifierKey(id));
      const rest = part.filter((id) => !goesWithX(id));
      if (rest.length === 0) continue;
      const withX = part.filter(goesWithX);
      const next = current.map((q) => [...q]);
      next.splice(p.index, 1, rest, withX);
      splits.set(p.seq, next);
      // Later parts of this fact moved one position; refresh their indexes.
      for (const q of parts) if (q.seq === p.seq && q.index > p.index) q.index++;
    }
  }
  return { splits, isolated };
}

/** Whether a merge fact would join the profile of one of `isolated` with another profile. */
function separates(graph: IdentityGraph, fact: MergeFact, isolated: readonly Identifier[]): boolean {
  const a = graph.profileOf(fact.anchorA) ?? graph.resolveProfileId(fact.profileA);
  const b = graph.profileOf(fact.anchorB) ?? graph.resolveProfileId(fact.profileB);
  if (a === undefined || b === undefined || a === b) return false;
  return isolated.some((x) => {
    const p = graph.profileOf(x);
    return p === a || p === b;
  });
}

/**
 * The facts an unmerge must rebuild from: the closure of "facts mentioning a key" starting at the
 * identifier. Drive it against a fact store:
 *
 *     const scope = new RebuildScope(identifier, rules);
 *     for (let keys = scope.takePending(); keys.length > 0; keys = scope.takePending())
 *       scope.addFacts(await store.factsMentioning(keys));
 *     // hydrate the profiles holding scope.keys, then: unmerge(graph, fact, scope.facts, rules)
 *
 * Junk and blocked identifiers are not followed, so a junk anonymousId shared by everyone does not
 * pull the whole graph in. A legitimately shared id (a kiosk's device id) can make the scope large.
 */
export class RebuildScope {
  readonly #keys = new Set<string>();
  readonly #facts = new Map<number, IdentityFact>();
  readonly #rules: IdentityRules;
  #pending: string[] = [];

  constructor(seed: Identifier, rules: IdentityRules) {
    this.#rules = rules;
    this.#follow(seed);
  }

  /** Keys whose facts have not been supplied yet (each key is returned once). Empty when closed. */
  takePending(): string[] {
    const keys = this.#pending;
    this.#pending = [];
    return keys;
  }

  /** Supply facts mentioning the keys last taken; facts seen before (same seq) are ignored. */
  addFacts(facts: Iterable<IdentityFact>): void {
    for (const fact of facts) {
      if (this.#facts.has(fact.seq)) continue;
      this.#facts.set(fact.seq, fact);
      for (const id of factIdentifiers(fact)) this.#follow(id);
    }
  }

  get keys(): ReadonlySet<string> {
    return this.#keys;
  }

  get facts(): IdentityFact[] {
    return [...this.#facts.values()];
  }

  #follow(id: Identifier): void {
    const key = identifierKey(id);
    if (this.#keys.has(key) || rejectionOf(id, this.#rules) !== null) return;
    this.#keys.add(key);
    this.#pending.push(key);
  }
}

export interface EventAssignment extends FactRef {
  /** The live profile the event belongs to after the rebuild (null when none of its ids was usable). */
  profileId: string | null;
}

/** The plan of an unmerge: write `profiles`, delete or tombstone `retiredProfileIds`, re-point `events`. */
export interface UnmergeOutcome {
  profiles: ProfileSnapshot[];
  /** Ids that were live or absorbed in the scope and exist in no form after the rebuild. */
  retiredProfileIds: string[];
  /** For every link fact of the scope: where its event belongs now (first part wins when split). */
  events: EventAssignment[];
  warnings: IdentityWarning[];
}

/**
 * Detach `fact.identifier` from its profile by rebuilding its scope from `scopeFacts` (all facts that
 * mention any key of `RebuildScope`) plus the unmerge fact itself, and swapping the result into `graph`.
 * Every profile holding a scope key must be hydrated in `graph` first. Append `fact` to the fact log too.
 */
export function unmerge(
  graph: IdentityGraph,
  fact: UnmergeFact,
  scopeFacts: readonly IdentityFact[],
  rules: IdentityRules,
): UnmergeOutcome {
  if (rejectionOf(fact.identifier, rules) !== null) {
    return {
      profiles: [],
      retiredProfileIds: [],
      events: [],
      warnings: [{ code: 'unmerge_noop', detail: `the ${fact.identifier.type} is junk or blocked: it is in no profile` }],
    };
  }
  // Rebuild even when the identifier is in no profile (every link naming it was refused by a limit):
  // a later full rebuild applies the unmerge to those links too, and both paths must agree.
  const before = graph.profileOf(fact.identifier);
  const sizeBefore = before === undefined ? 0 : (graph.snapshot(before)?.identifiers.length ?? 0);
  const affected = new Set<string>(before === undefined ? [] : [before]);
  const oldIds = new Set<string>();
  for (const f of scopeFacts) {
    for (const id of factIdentifiers(f)) {
      const p = graph.profileOf(id);
      if (p !== undefined) affected.add(p);
    }
  }
  const scopeKeys = new Set(scopeFacts.flatMap((f) => factIdentifiers(f).map(identifierKey)));
  for (const id of affected) {
    const snapshot = graph.snapshot(id) as ProfileSnapshot;
    oldIds.add(id);
    for (const a of snapshot.absorbed) oldIds.add(a);
    // A key the facts do not mention would silently vanish: the caller's scope is incomplete (a bug).
    const missing = snapshot.identifiers.find((r) => !scopeKeys.has(identifierKey(r.identifier)));
    if (missing !== undefined)
      throw new Error(`unmerge scope incomplete: no fact mentions ${identifierKey(missing.identifier)} of profile ${id}`);
  }

  const assignments = new Map<number, EventAssignment>();
  const facts = [...scopeFacts.filter((f) => f.seq !== fact.seq), fact];
  const rebuilt = rebuild(facts, rules, (f, outcome) => {
    if (f.kind !== 'link') return;
    const known = assignments.get(f.seq);
    if (known === undefined || known.profileId === null)
      assignments.set(f.seq, { seq: f.seq, eventMessageId: f.eventMessageId, sourceId: f.sourceId, profileId: outcome.profileId });
  });
  const events = [...assignments.values()].map((e) => ({
    ...e,
    profileId: e.profileId === null ? null : (rebuilt.resolveProfileId(e.profileId) ?? null),
  }));
  const profiles = [...rebuilt.profileIds()].map((id) => rebuilt.snapshot(id) as ProfileSnapshot);
  const retiredProfileIds = [...oldIds].filter((id) => rebuilt.resolveProfileId(id) === undefined);
  const warnings: IdentityWarning[] = [];
  const after = rebuilt.profileOf(fact.identifier);
  const sizeAfter = after === undefined ? 0 : (rebuilt.snapshot(after)?.identifiers.length ?? 0);
  if (before === undefined && after === undefined)
    warnings.push({ code: 'unmerge_noop', detail: `the ${fact.identifier.type} to unmerge is in no profile` });
  else if (sizeBefore === 1)
    warnings.push({ code: 'unmerge_noop', detail: `the ${fact.identifier.type} was already alone in its profile` });
  else if (before !== undefined && sizeAfter >= sizeBefore)
    warnings.push({
      code: 'unmerge_incomplete',
      detail: `other facts still connect the ${fact.identifier.type} to the rest of its profile`,
    });

  graph.replaceProfiles(affected, rebuilt);
  return { profiles, retiredProfileIds, events, warnings };
}
