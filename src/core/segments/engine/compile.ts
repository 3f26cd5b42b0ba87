/**
 * A compiled audience set: every segment and computed trait, validated, with segments in dependency
 * order and an index of what can affect what. Compiled once when definitions change, then shared by
 * every evaluation; it is plain immutable data.
 */
import { validateRule, type Condition, type RuleProblem, type Validated } from '../definition.ts';
import { validateComputedTrait, type ComputedTraitDefinition } from '../computed-traits.ts';
import { conditionReads, pathsOverlap, selectionReads, type RuleReads } from './reads.ts';
import type { TimerTarget } from './plan.ts';
import { timerTarget } from './scheduler.ts';

/** A segment as stored: its id and its rule (validated again here, as JSON). */
export interface SegmentInput {
  id: string;
  rule: unknown;
}

/** A computed trait as stored; its value is written to the trait `definition.key`. */
export interface ComputedTraitInput {
  id: string;
  definition: unknown;
}

export interface CompiledSegment {
  id: string;
  /** Its timers' target, made once (every evaluation names it). */
  target: TimerTarget;
  rule: Condition;
  reads: RuleReads;
  /** Positions (in `segments`) of the segments whose rules include this one; always later positions. */
  dependents: readonly number[];
}

export interface CompiledTrait {
  id: string;
  /** Its timers' target, made once (every evaluation names it). */
  target: TimerTarget;
  /** The trait the value is written to, which segments read with `trait(key)`. */
  key: string;
  definition: ComputedTraitDefinition;
  reads: RuleReads;
}

/** Targets (positions) to re-evaluate for one kind of input. */
interface EventIndex {
  byName: ReadonlyMap<string, readonly number[]>;
  /** Rules with a type-only event condition: any event can change them. */
  any: readonly number[];
}

export interface CompiledAudiences {
  /** Topological order: a segment comes after every segment it references. */
  segments: readonly CompiledSegment[];
  traits: readonly CompiledTrait[];
  segmentPosition: ReadonlyMap<string, number>;
  traitPosition: ReadonlyMap<string, number>;
  segmentsByEvent: EventIndex;
  traitsByEvent: EventIndex;
  /** Trait path → positions of the segments that read it (computed trait keys included). */
  segmentsByTraitPath: ReadonlyMap<string, readonly number[]>;
}

/**
 * Compile segments and computed traits. Unknown segment references, self references and cycles are
 * expected failures (the definitions came from users), so they come back as problems, not throws.
 */
export function compileAudiences(
  segments: readonly SegmentInput[],
  computedTraits: readonly ComputedTraitInput[],
): Validated<CompiledAudiences> {
  const problems: RuleProblem[] = [];
  const rules = new Map<string, Condition>();
  segments.forEach((s, i) => {
    const checked = validateRule(s.rule);
    if (!checked.ok) problems.push(...checked.problems.map((p) => ({ ...p, path: `/segments/${i}/rule${p.path}` })));
    else if (rules.has(s.id)) problems.push({ path: `/segments/${i}/id`, message: `segment '${s.id}' is defined twice` });
    else rules.set(s.id, checked.value);
  });
  const traits: CompiledTrait[] = [];
  computedTraits.forEach((t, i) => {
    const checked = validateComputedTrait(t.definition);
    if (!checked.ok) problems.push(...checked.problems.map((p) => ({ ...p, path: `/computedTraits/${i}/definition${p.path}` })));
    else if (traits.some((other) => other.id === t.id || other.key === checked.value.key)) {
      problems.push({ path: `/computedTraits/${i}`, message: `computed trait '${t.id}' (key '${checked.value.key}') is defined twice` });
    } else {
      const d = checked.value;
      traits.push({
        id: t.id,
        target: timerTarget('trait', t.id),
        key: d.key,
        definition: d,
        reads: selectionReads(d.event, d.window?.kind, 'property' in d),
      });
    }
  });
  const reads = new Map([...rules].map(([id, rule]) => [id, conditionReads(rule)] as const));
  for (const [id, r] of reads) {
    for (const ref of r.segments) {
      if (!rules.has(ref)) problems.push({ path: `/segments/${id}`, message: `segment '${id}' refers to unknown segment '${ref}'` });
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  const order = topologicalOrder(reads);
  if (!order.ok) return order;
  return { ok: true, value: build(order.value, rules, reads, traits) };
}

/** Depth-first, in input order so the result is deterministic; a back edge is a cycle, reported as a path. */
function topologicalOrder(reads: ReadonlyMap<string, RuleReads>): Validated<string[]> {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): RuleProblem | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') {
      const cycle = [...stack.slice(stack.indexOf(id)), id].map((s) => `'${s}'`).join(' → ');
      return { path: `/segments/${id}`, message: `segments include each other in a cycle: ${cycle}` };
    }
    state.set(id, 'visiting');
    stack.push(id);
    for (const ref of reads.get(id)?.segments ?? []) {
      const problem = visit(ref);
      if (problem) return problem;
    }
    stack.pop();
    state.set(id, 'done');
    order.push(id);
    return undefined;
  };
  for (const id of reads.keys()) {
    const problem = visit(id);
    if (problem) return { ok: false, problems: [problem] };
  }
  return { ok: true, value: order };
}

function build(
  order: readonly string[],
  rules: ReadonlyMap<string, Condition>,
  reads: ReadonlyMap<string, RuleReads>,
  traits: readonly CompiledTrait[],
): CompiledAudiences {
  const segmentPosition = new Map(order.map((id, i) => [id, i]));
  const dependents = order.map((): number[] => []);
  const segmentsByTraitPath = new Map<string, number[]>();
  const segments = order.map((id, position): CompiledSegment => {
    const r = reads.get(id) as RuleReads;
    // References come earlier in the order, so their (shared) dependents lists are already in place.
    for (const ref of r.segments) dependents[segmentPosition.get(ref) as number]?.push(position);
    for (const path of r.traitPaths) push(segmentsByTraitPath, path, position);
    return {
      id,
      target: timerTarget('segment', id),
      rule: rules.get(id) as Condition,
      reads: r,
      dependents: dependents[position] as number[],
    };
  });
  return {
    segments,
    traits,
    segmentPosition,
    traitPosition: new Map(traits.map((t, i) => [t.id, i])),
    segmentsByEvent: eventIndex(segments.map((s) => s.reads)),
    traitsByEvent: eventIndex(traits.map((t) => t.reads)),
    segmentsByTraitPath,
  };
}

function push<K>(map: Map<K, number[]>, key: K, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function eventIndex(all: readonly RuleReads[]): EventIndex {
  const byName = new Map<string, number[]>();
  const any: number[] = [];
  all.forEach((r, position) => {
    if (r.anyEvent) any.push(position);
    else for (const name of r.eventNames) push(byName, name, position);
  });
  return { byName, any };
}

/** Positions of the segments reading a trait path, for each changed path (dotted paths overlap). */
export function segmentsReadingTraits(compiled: CompiledAudiences, changed: Iterable<string>): number[] {
  const out: number[] = [];
  for (const path of changed) {
    for (const [read, positions] of compiled.segmentsByTraitPath) if (pathsOverlap(path, read)) out.push(...positions);
  }
  return out;
}

/** Positions of the targets events of these names (null: unnamed) can affect; none when no event arrived. */
export function targetsOfEvents(index: EventIndex, names: readonly (string | null)[]): number[] {
  const out = names.length > 0 ? [...index.any] : [];
  for (const name of names) if (name !== null) out.push(...(index.byName.get(name) ?? []));
  return out;
}

/** What of a profile's history some audience can read. */
export interface HistoryNeeds {
  /** The event names read; null when some condition matches events by type alone (any event may matter). */
  eventNames: Set<string> | null;
  /** Whether any condition or computed trait reads event properties. */
  properties: boolean;
}

/**
 * What these audiences read of a history (segments and computed traits): a profile's history can be
 * loaded with only these events, and without their properties when nothing reads them; every other
 * event, and every property, is invisible to every rule.
 */
export function historyNeeds(...sets: ReadonlyArray<CompiledAudiences | null>): HistoryNeeds {
  let names: Set<string> | null = new Set();
  let properties = false;
  for (const compiled of sets) {
    if (compiled === null) continue;
    for (const r of [...compiled.segments.map((x) => x.reads), ...compiled.traits.map((x) => x.reads)]) {
      properties ||= r.properties;
      if (r.anyEvent) names = null;
      else if (names !== null) for (const name of r.eventNames) names.add(name);
    }
  }
  return { eventNames: names, properties };
}
