/**
 * The identity graph: identifier → profile, as an in-memory materialised view of the identity facts.
 *
 * Built for a processor that works in micro-batches: hydrate the profiles the batch touches (`load`),
 * `apply` each event's link fact (each returns a plan: what to write), `snapshot` dirty profiles to
 * persist them, `evict` to bound memory. Every lookup is a Map access; no call scans all profiles.
 */
import { compareIdentifiers, identifierKey, type Identifier } from './identifiers.ts';
import type { FactRef, LinkFact, MergeFact } from './facts.ts';
import { profileIdFor } from './profile-id.ts';
import { rejectionOf, type IdentityRules } from './rules.ts';
import type { IdentityWarning } from './warnings.ts';
import type { DroppedIdentifier, IdentifierRecordSnapshot, ProfileSnapshot, ResolutionOutcome } from './outcome.ts';

export type { DropReason, DroppedIdentifier, IdentifierRecordSnapshot, ProfileSnapshot, ResolutionOutcome } from './outcome.ts';

interface IdentifierRecord {
  readonly identifier: Identifier;
  firstSeen: number;
  readonly broughtBy: FactRef;
  profile: ProfileState;
}

/** A flat array of records: profiles are small (capped), and per-type Maps would cost memory for every profile. */
interface ProfileState {
  readonly id: string;
  firstSeen: number;
  mergeCount: number;
  readonly records: IdentifierRecord[];
  readonly absorbed: string[];
}

interface Candidate {
  readonly identifier: Identifier;
  readonly priority: number;
  readonly order: number;
  readonly record: IdentifierRecord | undefined;
}

type Verdict = { ok: true } | { ok: false; reason: 'limit_exceeded' | 'merge_cap' | 'identifier_cap'; detail: string };
const OK: Verdict = { ok: true };
const NONE: readonly never[] = Object.freeze([]);

const olderFirst = (a: ProfileState, b: ProfileState): number => a.firstSeen - b.firstSeen || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class IdentityGraph {
  /** type → value → record. Nested rather than keyed by `type:value`: no string is built per lookup. */
  readonly #index = new Map<string, Map<string, IdentifierRecord>>();
  readonly #profiles = new Map<string, ProfileState>();
  /** Absorbed id → live survivor id; re-pointed on every merge, so one hop always suffices. */
  readonly #redirects = new Map<string, string>();
  /** Reused by the fast path so the common case allocates nothing. */
  readonly #scratch: IdentifierRecord[] = [];

  /** Apply one link or operator-merge fact; mutates the graph and returns the plan. */
  apply(fact: LinkFact | MergeFact, rules: IdentityRules): ResolutionOutcome {
    return fact.kind === 'link' ? this.#applyLink(fact, rules) : this.#applyMerge(fact, rules);
  }

  /** Live profile id holding this identifier, if known. */
  profileOf(identifier: Identifier): string | undefined {
    return this.#lookup(identifier)?.profile.id;
  }

  isKnown(identifier: Identifier): boolean {
    return this.#lookup(identifier) !== undefined;
  }

  /** The live id for a profile id: itself when live, its survivor when merged away, else undefined. */
  resolveProfileId(id: string): string | undefined {
    return this.#profiles.has(id) ? id : this.#redirects.get(id);
  }

  get size(): number {
    return this.#profiles.size;
  }

  profileIds(): IterableIterator<string> {
    return this.#profiles.keys();
  }

  snapshot(id: string): ProfileSnapshot | undefined {
    const live = this.resolveProfileId(id);
    const p = live === undefined ? undefined : this.#profiles.get(live);
    if (p === undefined) return undefined;
    const identifiers: IdentifierRecordSnapshot[] = p.records.map((r) => ({
      identifier: r.identifier,
      firstSeen: r.firstSeen,
      broughtBy: r.broughtBy,
    }));
    identifiers.sort((a, b) => compareIdentifiers(a.identifier, b.identifier));
    return { id: p.id, firstSeen: p.firstSeen, mergeCount: p.mergeCount, absorbed: [...p.absorbed], identifiers };
  }

  /** Hydrate a profile from the store (replacing a cached copy). Throws when it overlaps another profile: the cache is inconsistent. */
  load(snapshot: ProfileSnapshot): void {
    for (const r of snapshot.identifiers) {
      const held = this.#lookup(r.identifier);
      if (held !== undefined && held.profile.id !== snapshot.id)
        throw new Error(`identifier ${identifierKey(r.identifier)} is already held by profile ${held.profile.id}`);
    }
    this.evict(snapshot.id);
    const p: ProfileState = {
      id: snapshot.id,
      firstSeen: snapshot.firstSeen,
      mergeCount: snapshot.mergeCount,
      records: [],
      absorbed: [...snapshot.absorbed],
    };
    this.#profiles.set(p.id, p);
    for (const a of p.absorbed) this.#redirects.set(a, p.id);
    for (const r of snapshot.identifiers) this.#addRecord(p, r.identifier, r.firstSeen, r.broughtBy);
  }

  /** Forget a cached profile (its identifiers and redirects). Returns whether it was cached. */
  evict(profileId: string): boolean {
    const p = this.#profiles.get(profileId);
    if (p === undefined) return false;
    for (const r of p.records) {
      const m = this.#index.get(r.identifier.type);
      if (m !== undefined && m.delete(r.identifier.value) && m.size === 0) this.#index.delete(r.identifier.type);
    }
    for (const a of p.absorbed) if (this.#redirects.get(a) === p.id) this.#redirects.delete(a);
    this.#profiles.delete(profileId);
    return true;
  }

  /**
   * Swap the profiles `removed` for every profile of `rebuilt` (which is consumed). Used by `unmerge`.
   * Throws, changing nothing, when `rebuilt` holds an identifier or id of a profile that is not removed.
   */
  replaceProfiles(removed: Iterable<string>, rebuilt: IdentityGraph): void {
    const gone = new Set(removed);
    for (const p of rebuilt.#profiles.values()) {
      for (const r of p.records) {
        const held = this.#lookup(r.identifier);
        if (held !== undefined && !gone.has(held.profile.id))
          throw new Error(
            `rebuilt identifier ${identifierKey(r.identifier)} is held by profile ${held.profile.id} outside the rebuild scope`,
          );
      }
    }
    for (const id of [...rebuilt.#profiles.keys(), ...rebuilt.#redirects.keys()]) {
      const live = this.resolveProfileId(id);
      if (live !== undefined && !gone.has(live)) throw new Error(`rebuilt profile id ${id} is in use outside the rebuild scope`);
    }
    for (const id of gone) this.evict(id);
    for (const [id, p] of rebuilt.#profiles) {
      this.#profiles.set(id, p);
      for (const r of p.records) this.#indexRecord(r);
    }
    for (const [from, to] of rebuilt.#redirects) this.#redirects.set(from, to);
  }

  /*
   * Strategy (Segment's flat matching, with PostHog's refusals made visible):
   * 1. Standardised identifiers that are junk or blocked are dropped with a warning; the rest are sorted
   *    by rule priority (ties: the event's own order), so the weakest is last.
   * 2. Find every profile holding one of them, then split:
   *    - none known    → a new profile with all of them (its id is derived from the first in canonical order);
   *    - one profile   → add the unknown ones to it;
   *    - several       → merge them into the oldest (earliest first-seen, ties by id) and add the unknown ones.
   * 3. Before committing, check the result against the per-type limits (optionally windowed) and the
   *    global caps. If any would break, drop the weakest identifier and go back to 2. A lone identifier
   *    always passes, so the loop ends. A profile already over a limit (e.g. after an operator merge) is
   *    not penalised for it: only growth past the limit is refused.
   */
  #applyLink(fact: LinkFact, rules: IdentityRules): ResolutionOutcome {
    const fast = this.#allKnownInOneProfile(fact, rules);
    if (fast !== undefined)
      return { profileId: fast, created: false, mergedFrom: NONE, addedIdentifiers: NONE, droppedIdentifiers: NONE, warnings: NONE };
    const dropped: DroppedIdentifier[] = [];
    const warnings: IdentityWarning[] = [];
    const cands: Candidate[] = [];
    const ids = fact.identifiers;
    for (let i = 0; i < ids.length; i++) {
      const identifier = ids[i] as Identifier;
      if (cands.some((c) => c.identifier.type === identifier.type && c.identifier.value === identifier.value)) continue;
      const rejection = rejectionOf(identifier, rules);
      if (rejection !== null) {
        dropped.push({ identifier, reason: rejection });
        warnings.push({
          code: rejection,
          detail: `${identifier.type} ${rejection === 'junk_value' ? 'is a junk value' : 'is blocked by the rules'}`,
        });
        continue;
      }
      cands.push({ identifier, priority: rules.forType(identifier.type).priority, order: i, record: this.#lookup(identifier) });
    }
    if (cands.length === 0) {
      warnings.push({ code: 'no_identifiers', detail: 'no usable identifier left' });
      return { profileId: null, created: false, mergedFrom: NONE, addedIdentifiers: NONE, droppedIdentifiers: dropped, warnings };
    }
    cands.sort((a, b) => a.priority - b.priority || a.order - b.order);
    for (;;) {
      const verdict = this.#check(cands, fact.at, rules);
      if (verdict.ok) return this.#commit(cands, fact, dropped.length === 0 ? NONE : dropped, warnings.length === 0 ? NONE : warnings);
      const weakest = cands.pop() as Candidate;
      dropped.push({ identifier: weakest.identifier, reason: verdict.reason });
      warnings.push({ code: verdict.reason, detail: `${weakest.identifier.type} dropped: ${verdict.detail}` });
    }
  }

  /** The common case, without allocating: every identifier usable, known, and in the same profile. */
  #allKnownInOneProfile(fact: LinkFact, rules: IdentityRules): string | undefined {
    const ids = fact.identifiers;
    const found = this.#scratch;
    found.length = 0;
    let profile: ProfileState | undefined;
    for (let i = 0; i < ids.length; i++) {
      const r = this.#lookup(ids[i] as Identifier);
      if (r === undefined || (profile !== undefined && r.profile !== profile) || rejectionOf(r.identifier, rules) !== null)
        return undefined;
      profile = r.profile;
      found.push(r);
    }
    if (profile === undefined) return undefined;
    for (const r of found) if (fact.at < r.firstSeen) r.firstSeen = fact.at;
    found.length = 0;
    if (fact.at < profile.firstSeen) profile.firstSeen = fact.at;
    return profile.id;
  }

  #check(cands: readonly Candidate[], at: number, rules: IdentityRules): Verdict {
    const matched: ProfileState[] = [];
    let fresh = 0;
    for (const c of cands) {
      if (c.record === undefined) fresh++;
      else if (!matched.includes(c.record.profile)) matched.push(c.record.profile);
    }
    if (matched.length === 1 && fresh === 0) return OK;
    // Types to check: those of the unknown identifiers, plus, when merging, every type of every profile.
    const types = new Set<string>();
    for (const c of cands) if (c.record === undefined) types.add(c.identifier.type);
    if (matched.length > 1) for (const p of matched) for (const r of p.records) types.add(r.identifier.type);
    for (const type of types) {
      const rule = rules.forType(type);
      let combined = 0;
      let largest = 0;
      for (const p of matched) {
        const n = countOfType(p, type, at, rule.limitWindowMs);
        combined += n;
        if (n > largest) largest = n;
      }
      for (const c of cands) if (c.record === undefined && c.identifier.type === type) combined++;
      if (combined > rule.limit && combined > largest) {
        return {
          ok: false,
          reason: 'limit_exceeded',
          detail: `the profile would hold ${combined} ${type} values (limit ${rule.limit}${rule.limitWindowMs === null ? '' : ` per ${rule.limitWindowMs} ms`})`,
        };
      }
    }
    let merges = matched.length > 1 ? matched.length - 1 : 0;
    let size = fresh;
    let largestSize = 0;
    for (const p of matched) {
      merges += p.mergeCount;
      size += p.records.length;
      if (p.records.length > largestSize) largestSize = p.records.length;
    }
    if (matched.length > 1 && merges > rules.maxMerges)
      return {
        ok: false,
        reason: 'merge_cap',
        detail: `the merged profile would have absorbed ${merges} profiles (cap ${rules.maxMerges})`,
      };
    if (size > rules.maxIdentifiers && size > largestSize)
      return { ok: false, reason: 'identifier_cap', detail: `the profile would hold ${size} identifiers (cap ${rules.maxIdentifiers})` };
    return OK;
  }

  #commit(
    cands: readonly Candidate[],
    fact: LinkFact,
    dropped: readonly DroppedIdentifier[],
    warnings: readonly IdentityWarning[],
  ): ResolutionOutcome {
    const matched: ProfileState[] = [];
    for (const c of cands) if (c.record !== undefined && !matched.includes(c.record.profile)) matched.push(c.record.profile);
    let survivor: ProfileState;
    let mergedFrom: string[] | readonly never[] = NONE;
    const created = matched.length === 0;
    if (created) {
      let first = cands[0] as Candidate;
      for (const c of cands) if (compareIdentifiers(c.identifier, first.identifier) < 0) first = c;
      survivor = this.#newProfile(first.identifier, fact.at);
    } else {
      matched.sort(olderFirst);
      survivor = matched[0] as ProfileState;
      if (matched.length > 1) mergedFrom = matched.slice(1).map((loser) => this.#absorb(survivor, loser));
    }
    let added: Identifier[] | readonly never[] = NONE;
    let broughtBy: FactRef | undefined;
    for (const c of cands) {
      if (c.record === undefined) {
        broughtBy ??= { seq: fact.seq, eventMessageId: fact.eventMessageId, sourceId: fact.sourceId };
        this.#addRecord(survivor, c.identifier, fact.at, broughtBy);
        if (added === NONE) added = [];
        (added as Identifier[]).push(c.identifier);
      } else if (fact.at < c.record.firstSeen) c.record.firstSeen = fact.at;
    }
    if (fact.at < survivor.firstSeen) survivor.firstSeen = fact.at;
    return { profileId: survivor.id, created, mergedFrom, addedIdentifiers: added, droppedIdentifiers: dropped, warnings };
  }

  /** Operator merge: per-type limits are waived (the operator decided), the global caps are not. */
  #applyMerge(fact: MergeFact, rules: IdentityRules): ResolutionOutcome {
    const a = this.#profileFor(fact.anchorA, fact.profileA);
    const b = this.#profileFor(fact.anchorB, fact.profileB);
    const outcome = (
      profileId: string | null,
      warnings: readonly IdentityWarning[] = NONE,
      mergedFrom: readonly string[] = NONE,
    ): ResolutionOutcome => ({
      profileId,
      created: false,
      mergedFrom,
      addedIdentifiers: NONE,
      droppedIdentifiers: NONE,
      warnings,
    });
    if (a === undefined || b === undefined)
      return outcome(a?.id ?? b?.id ?? null, [
        { code: 'unknown_profile', detail: `profile ${a === undefined ? fact.profileA : fact.profileB} is unknown` },
      ]);
    if (a === b) return outcome(a.id);
    const [survivor, loser] = olderFirst(a, b) <= 0 ? [a, b] : [b, a];
    const merges = a.mergeCount + b.mergeCount + 1;
    if (merges > rules.maxMerges)
      return outcome(null, [
        { code: 'merge_cap', detail: `the merged profile would have absorbed ${merges} profiles (cap ${rules.maxMerges})` },
      ]);
    const size = a.records.length + b.records.length;
    if (size > rules.maxIdentifiers)
      return outcome(null, [
        { code: 'identifier_cap', detail: `the merged profile would hold ${size} identifiers (cap ${rules.maxIdentifiers})` },
      ]);
    return outcome(survivor.id, NONE, [this.#absorb(survivor, loser)]);
  }

  #profileFor(anchor: Identifier, id: string): ProfileState | undefined {
    const byAnchor = this.#lookup(anchor)?.profile;
    if (byAnchor !== undefined) return byAnchor;
    const live = this.resolveProfileId(id);
    return live === undefined ? undefined : this.#profiles.get(live);
  }

  #newProfile(first: Identifier, at: number): ProfileState {
    let id = profileIdFor(first);
    for (let attempt = 1; this.#profiles.has(id) || this.#redirects.has(id); attempt++) id = profileIdFor(first, attempt);
    const p: ProfileState = { id, firstSeen: at, mergeCount: 0, records: [], absorbed: [] };
    this.#profiles.set(id, p);
    return p;
  }

  #lookup(identifier: Identifier): IdentifierRecord | undefined {
    return this.#index.get(identifier.type)?.get(identifier.value);
  }

  #indexRecord(r: IdentifierRecord): void {
    let m = this.#index.get(r.identifier.type);
    if (m === undefined) this.#index.set(r.identifier.type, (m = new Map()));
    m.set(r.identifier.value, r);
  }

  #addRecord(p: ProfileState, identifier: Identifier, firstSeen: number, broughtBy: FactRef): void {
    const record: IdentifierRecord = { identifier, firstSeen, broughtBy, profile: p };
    p.records.push(record);
    this.#indexRecord(record);
  }

  /** Move everything of `loser` into `survivor`; returns the loser's id. */
  #absorb(survivor: ProfileState, loser: ProfileState): string {
    for (const r of loser.records) {
      r.profile = survivor;
      survivor.records.push(r);
    }
    survivor.mergeCount += loser.mergeCount + 1;
    if (loser.firstSeen < survivor.firstSeen) survivor.firstSeen = loser.firstSeen;
    for (const a of loser.absorbed) this.#redirects.set(a, survivor.id);
    this.#redirects.set(loser.id, survivor.id);
    survivor.absorbed.push(loser.id, ...loser.absorbed);
    this.#profiles.delete(loser.id);
    return loser.id;
  }
}

/** Values of `type` the profile holds, or only those first seen within `windowMs` of `at`. */
function countOfType(p: ProfileState, type: string, at: number, windowMs: number | null): number {
  let n = 0;
  for (const r of p.records) if (r.identifier.type === type && (windowMs === null || Math.abs(r.firstSeen - at) < windowMs)) n++;
  return n;
}
