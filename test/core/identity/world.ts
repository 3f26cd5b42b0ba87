/**
 * A tiny in-memory "processor" for scenario tests: events become link facts, the graph resolves them,
 * traits follow merges, operators merge and unmerge. Steps read like the story they tell.
 */
import type { EventType, JsonObject } from '../../../src/core/event/event.ts';
import {
  compileRules,
  extractIdentifiers,
  factIdentifiers,
  identifierKey,
  IdentityGraph,
  linkFactOf,
  materialiseTraits,
  mergeTraitsInto,
  parseIdentifierKey,
  provenanceOf,
  RebuildScope,
  rebuild,
  traitUpdateOf,
  unmerge,
  writeTraits,
  type Identifier,
  type IdentityFact,
  type IdentityRules,
  type IdentityRulesConfig,
  type IdentityWarning,
  type ProfileSnapshot,
  type ResolutionOutcome,
  type TraitEntry,
  type TraitMap,
  type UnmergeOutcome,
} from '../../../src/core/identity/index.ts';
import { anEvent, T0, type EventInput } from './builders.ts';
import type { TrackedEvent } from '../../../src/core/event/event.ts';

export type Step =
  | { kind: 'event'; type: EventType; input: EventInput }
  | { kind: 'advance'; ms: number }
  | { kind: 'merge'; a: string; b: string }
  | { kind: 'unmerge'; identifier: string };

const event =
  (type: EventType) =>
  (input: EventInput): Step => ({ kind: 'event', type, input });
export const identify = event('identify');
export const track = event('track');
export const alias = event('alias');
export const group = event('group');
export const advance = (ms: number): Step => ({ kind: 'advance', ms });
/** An operator merges the profiles holding these two identifier keys (`user_id:u1`). */
export const mergeProfiles = (a: string, b: string): Step => ({ kind: 'merge', a, b });
export const unmergeIdentifier = (identifier: string): Step => ({ kind: 'unmerge', identifier });

function keyToIdentifier(key: string): Identifier {
  const id = parseIdentifierKey(key);
  if (id === null) throw new Error(`not an identifier key: ${key}`);
  return id;
}

export class World {
  readonly rules: IdentityRules;
  readonly graph = new IdentityGraph();
  readonly facts: IdentityFact[] = [];
  readonly events = new Map<number, TrackedEvent>();
  readonly traits = new Map<string, TraitMap>();
  readonly warnings: IdentityWarning[] = [];
  readonly outcomes: ResolutionOutcome[] = [];
  clock = T0;
  #seq = 0;

  constructor(rules: IdentityRulesConfig = {}) {
    this.rules = compileRules(rules);
  }

  run(steps: readonly Step[]): this {
    for (const step of steps) this.step(step);
    return this;
  }

  step(step: Step): ResolutionOutcome | UnmergeOutcome | null {
    switch (step.kind) {
      case 'advance':
        this.clock += step.ms;
        return null;
      case 'event':
        return this.ingest(anEvent(step.type, { at: this.clock, ...step.input }));
      case 'merge':
        return this.merge(keyToIdentifier(step.a), keyToIdentifier(step.b));
      case 'unmerge':
        return this.unmerge(keyToIdentifier(step.identifier));
    }
  }

  ingest(e: TrackedEvent): ResolutionOutcome {
    const extracted = extractIdentifiers(e, { isKnownUserId: (value) => this.graph.isKnown({ type: 'user_id', value }) });
    const fact = linkFactOf(e, extracted.identifiers, ++this.#seq);
    this.facts.push(fact);
    this.events.set(fact.seq, e);
    const outcome = this.graph.apply(fact, this.rules);
    this.warnings.push(...extracted.warnings, ...outcome.warnings);
    this.outcomes.push(outcome);
    if (outcome.profileId !== null) {
      const mine = this.#traitsOf(outcome.profileId);
      for (const loser of outcome.mergedFrom) {
        mergeTraitsInto(mine, this.traits.get(loser) ?? new Map());
        this.traits.delete(loser);
      }
      const update = traitUpdateOf(e);
      if (update?.target === 'profile') writeTraits(mine, update.traits, provenanceOf(e));
    }
    return outcome;
  }

  merge(a: Identifier, b: Identifier): ResolutionOutcome {
    const profileA = this.graph.profileOf(a) ?? 'unknown';
    const profileB = this.graph.profileOf(b) ?? 'unknown';
    const fact: IdentityFact = {
      kind: 'merge',
      profileA,
      profileB,
      anchorA: a,
      anchorB: b,
      reason: 'operator',
      at: this.clock,
      seq: ++this.#seq,
    };
    this.facts.push(fact);
    const outcome = this.graph.apply(fact, this.rules);
    this.warnings.push(...outcome.warnings);
    if (outcome.profileId !== null) {
      for (const loser of outcome.mergedFrom) {
        mergeTraitsInto(this.#traitsOf(outcome.profileId), this.traits.get(loser) ?? new Map());
        this.traits.delete(loser);
      }
    }
    return outcome;
  }

  unmerge(identifier: Identifier): UnmergeOutcome {
    const scope = new RebuildScope(identifier, this.rules);
    for (let keys = scope.takePending(); keys.length > 0; keys = scope.takePending()) {
      const wanted = new Set(keys);
      scope.addFacts(this.facts.filter((f) => factIdentifiers(f).some((id) => wanted.has(identifierKey(id)))));
    }
    const fact: IdentityFact = { kind: 'unmerge', identifier, reason: 'operator', at: this.clock, seq: ++this.#seq };
    const outcome = unmerge(this.graph, fact, scope.facts, this.rules);
    this.facts.push(fact);
    this.warnings.push(...outcome.warnings);
    // Traits of the rebuilt profiles are recomputed from their events: the writes are order-independent.
    for (const id of outcome.retiredProfileIds) this.traits.delete(id);
    for (const p of outcome.profiles) this.traits.delete(p.id);
    for (const assignment of outcome.events) {
      const e = this.events.get(assignment.seq);
      const update = e === undefined ? null : traitUpdateOf(e);
      if (assignment.profileId !== null && update?.target === 'profile' && e !== undefined)
        writeTraits(this.#traitsOf(assignment.profileId), update.traits, provenanceOf(e));
    }
    return outcome;
  }

  #traitsOf(profileId: string): TraitMap {
    let m = this.traits.get(profileId);
    if (m === undefined) this.traits.set(profileId, (m = new Map()));
    return m;
  }

  /** Profiles as sorted identifier-key lists, sorted: comparable across graphs. */
  profiles(graph: IdentityGraph = this.graph): string[][] {
    return groupingOf(graph);
  }

  traitsOfIdentifier(key: string): JsonObject {
    const id = this.graph.profileOf(keyToIdentifier(key));
    if (id === undefined) throw new Error(`no profile holds ${key}`);
    return materialiseTraits(this.traits.get(id) ?? new Map());
  }

  /** Everything observable about the profiles, for "restored exactly" comparisons. */
  state(): { profiles: ProfileSnapshot[]; traits: Record<string, Record<string, TraitEntry>> } {
    const profiles = [...this.graph.profileIds()].sort().map((id) => this.graph.snapshot(id) as ProfileSnapshot);
    const traits: Record<string, Record<string, TraitEntry>> = {};
    for (const p of profiles) {
      const m = this.traits.get(p.id);
      if (m !== undefined && m.size > 0) traits[p.id] = Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    return { profiles, traits };
  }

  rebuilt(): IdentityGraph {
    return rebuild(this.facts, this.rules);
  }

  warningCodes(): string[] {
    return [...new Set(this.warnings.map((w) => w.code))].sort();
  }
}

export function groupingOf(graph: IdentityGraph): string[][] {
  return [...graph.profileIds()]
    .map((id) => (graph.snapshot(id) as ProfileSnapshot).identifiers.map((r) => identifierKey(r.identifier)).sort())
    .sort((a, b) => (a.join(' ') < b.join(' ') ? -1 : 1));
}

/** `'user_id:u1 anonymous_id:a1'` → sorted keys; the expected side of a scenario table. */
export function expectedGrouping(profiles: readonly string[]): string[][] {
  return profiles
    .map((p) =>
      p
        .split(/\s+/)
        .filter((k) => k !== '')
        .sort(),
    )
    .sort((a, b) => (a.join(' ') < b.join(' ') ? -1 : 1));
}
