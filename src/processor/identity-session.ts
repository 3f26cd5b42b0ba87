/**
 * One transaction's worth of identity work: hydrate the profiles a micro-batch (or an operator command)
 * touches into an `IdentityGraph`, apply facts in order, and collect what to write as one
 * `IdentityWrite`. Profiles are written once per batch however many events touched them.
 *
 * Strategy per event (the graph decides, see `core/identity/resolve.ts`): no known identifier → a new
 * profile; known identifiers of one profile → that profile (new identifiers join it); of several →
 * the oldest profile absorbs the others unless a rule forbids it (then the lowest-priority identifiers
 * are dropped and matching is retried). Traits of absorbed profiles merge per trait by event time.
 */
import type { EventHeader } from '../core/event/event.ts';
import type { ExtractedIdentifiers } from '../core/identity/identifiers.ts';
import {
  describeTrait,
  extractIdentifiers,
  identifierKey,
  IdentityGraph,
  linkFactOf,
  parseIdentifierKey,
  mergeTraitsInto,
  provenanceOf,
  traitsFromRecord,
  traitsToRecord,
  traitUpdateOf,
  writeTraits,
  type IdentityFact,
  type IdentityRules,
  type IdentityWarning,
  type MergeFact,
  type ResolutionOutcome,
  type TraitMap,
} from '../core/identity/index.ts';
import type { CountryCode } from 'libphonenumber-js';
import { emptyIdentityWrite, type IdentityReader, type IdentityWrite, type StoredProfile } from '../storage/identity-records.ts';
import { trackedEventOf, type BatchEvent } from './batch-event.ts';

export interface IdentitySettings {
  rules: IdentityRules;
  defaultRegion: CountryCode;
}

/** Counts for metrics, plain data. */
export interface IdentityStats {
  profilesCreated: number;
  merges: number;
  warnings: Record<string, number>;
}

interface ProfileState {
  traits: TraitMap;
  createdAt: number;
  traitsDirty: boolean;
}

interface AccountState {
  traits: TraitMap;
  createdAt: number;
  dirty: boolean;
}

export class IdentitySession {
  readonly graph = new IdentityGraph();
  readonly write: IdentityWrite = emptyIdentityWrite();
  readonly stats: IdentityStats = { profilesCreated: 0, merges: 0, warnings: {} };
  private readonly profiles = new Map<string, ProfileState>();
  private readonly identityDirty = new Set<string>();
  /** Profiles this session created (never stored before). */
  private readonly created = new Set<string>();
  private readonly absorbed = new Set<string>();
  private readonly accounts = new Map<string, AccountState>();
  /** `accountId\0profileId` → earliest event time linking them. */
  private readonly members = new Map<string, number>();
  private knownTraitNames: Set<string> | null = null;

  constructor(
    private readonly reader: IdentityReader,
    private readonly settings: IdentitySettings,
    private readonly now: number,
  ) {}

  /** Hydrate the stored profiles holding any of these identifier keys (each once). */
  async loadHolding(keys: Iterable<string>): Promise<void> {
    const missing = [...new Set(keys)].filter((k) => {
      const i = k.indexOf(':');
      return !this.graph.isKnown({ type: k.slice(0, i), value: k.slice(i + 1) });
    });
    this.hydrate(await this.reader.profilesHolding(missing));
  }

  async loadById(ids: readonly string[]): Promise<void> {
    this.hydrate(await this.reader.profilesById(ids.filter((id) => this.graph.resolveProfileId(id) === undefined)));
  }

  hydrate(profiles: readonly StoredProfile[]): void {
    for (const p of profiles) {
      if (this.profiles.has(p.snapshot.id)) continue;
      this.graph.load(p.snapshot);
      this.profiles.set(p.snapshot.id, { traits: traitsFromRecord(p.traits), createdAt: p.createdAt, traitsDirty: false });
    }
  }

  createdAtOf(id: string): number | undefined {
    return this.profiles.get(id)?.createdAt;
  }

  async loadAccounts(ids: Iterable<string>): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.accounts.has(id));
    for (const a of await this.reader.accounts(missing))
      this.accounts.set(a.id, { traits: traitsFromRecord(a.traits), createdAt: a.createdAt, dirty: false });
  }

  /**
   * Extract every event's identifiers (unless the collection gate did) and hydrate the profiles and
   * accounts they name (two queries for the whole batch). Aliases are looked up under both types of
   * `previousId` and extracted again at apply time, when the graph knows whether it is a known user id.
   */
  async prepare(events: readonly BatchEvent[]): Promise<ExtractedIdentifiers[]> {
    const region = this.settings.defaultRegion;
    const keys: string[] = [];
    const groups: string[] = [];
    const extracted = events.map((e) => {
      const event = e.event;
      const x = e.extracted ?? extractIdentifiers(trackedEventOf(e), { defaultRegion: region });
      for (const id of x.identifiers) keys.push(identifierKey(id));
      if (event.type === 'alias') {
        const prev = trackedEventOf(e).message.previousId;
        if (typeof prev === 'string' || typeof prev === 'number') keys.push(`user_id:${String(prev)}`);
      }
      if (x.groupId !== null) groups.push(x.groupId);
      return x;
    });
    await this.loadHolding(keys);
    await this.loadAccounts(groups);
    return extracted;
  }

  /** Resolve one event: apply its link fact, merge traits, and answer the identifier it is attributed to. */
  applyEvent(e: BatchEvent, seq: number, prepared: ExtractedIdentifiers): string | null {
    const event = e.event;
    const extracted =
      event.type === 'alias'
        ? extractIdentifiers(trackedEventOf(e), {
            defaultRegion: this.settings.defaultRegion,
            isKnownUserId: (v) => this.graph.isKnown({ type: 'user_id', value: v }),
          })
        : prepared;
    for (const w of extracted.warnings) this.warn(w, null, event, null);
    if (extracted.identifiers.length === 0) {
      this.count('no_identifiers');
      return null;
    }
    const fact = linkFactOf(event, extracted.identifiers, seq);
    const outcome = this.graph.apply(fact, this.settings.rules);
    this.record(fact, outcome, event, 'auto', 'processor', `event ${event.messageId} linked identifiers of both profiles`);
    const profileId = outcome.profileId;
    if (profileId === null) return null;
    const update = e.message === undefined ? null : traitUpdateOf({ type: event.type, message: e.message });
    if (update?.target === 'profile') {
      const state = this.profiles.get(profileId) as ProfileState;
      if (writeTraits(state.traits, update.traits, provenanceOf(event)) > 0) state.traitsDirty = true;
      this.discover(update.traits, event.timestamp);
    }
    if (extracted.groupId !== null) {
      const account = this.account(extracted.groupId);
      if (update?.target === 'group' && writeTraits(account.traits, update.traits, provenanceOf(event)) > 0) account.dirty = true;
      const key = `${extracted.groupId}\u0000${profileId}`;
      this.members.set(key, Math.min(this.members.get(key) ?? Infinity, event.timestamp));
    }
    for (const id of extracted.identifiers) if (this.graph.profileOf(id) === profileId) return identifierKey(id);
    return null;
  }

  /** The profile an identifier key (`type:value`) belongs to in this session's graph now; null when none. */
  profileHolding(key: string): string | null {
    const id = parseIdentifierKey(key);
    return id === null ? null : (this.graph.profileOf(id) ?? null);
  }

  /** Apply an operator merge (profiles must be hydrated). */
  applyMerge(fact: MergeFact, actor: string): ResolutionOutcome {
    const outcome = this.graph.apply(fact, this.settings.rules);
    this.record(fact, outcome, null, 'operator_merge', actor, fact.reason);
    return outcome;
  }

  private record(
    fact: IdentityFact,
    outcome: ResolutionOutcome,
    event: EventHeader | null,
    kind: 'auto' | 'operator_merge',
    actor: string,
    reason: string,
  ): void {
    const pid = outcome.profileId;
    for (const w of outcome.warnings) this.warn(w, pid, event, null);
    for (const d of outcome.droppedIdentifiers)
      this.warn(
        { code: d.reason, detail: `${d.identifier.type} not used: ${d.reason.replaceAll('_', ' ')}` },
        pid,
        event,
        identifierKey(d.identifier),
      );
    if (pid === null) return;
    if (outcome.created) {
      this.stats.profilesCreated++;
      this.created.add(pid);
      this.profiles.set(pid, { traits: new Map(), createdAt: this.now, traitsDirty: true });
    }
    const survivor = this.profiles.get(pid) as ProfileState;
    for (const gone of outcome.mergedFrom) {
      const state = this.profiles.get(gone);
      if (state) {
        mergeTraitsInto(survivor.traits, state.traits);
        survivor.createdAt = Math.min(survivor.createdAt, state.createdAt);
        this.profiles.delete(gone);
      }
      survivor.traitsDirty = true;
      this.absorbed.add(gone);
      this.identityDirty.delete(gone);
      this.stats.merges++;
      this.write.mergeLog.push({ at: this.now, kind, profileId: pid, otherIds: [gone], reason, factSeq: fact.seq, actor });
    }
    const changed = outcome.created || outcome.mergedFrom.length > 0 || outcome.addedIdentifiers.length > 0;
    if (changed) this.identityDirty.add(pid);
    if (changed || outcome.droppedIdentifiers.length > 0 || fact.kind !== 'link') this.write.facts.push(fact);
  }

  private account(id: string): AccountState {
    let a = this.accounts.get(id);
    if (a === undefined) {
      a = { traits: new Map(), createdAt: this.now, dirty: true };
      this.accounts.set(id, a);
    }
    return a;
  }

  private warn(w: IdentityWarning, profileId: string | null, event: EventHeader | null, identifier: string | null): void {
    this.count(w.code);
    this.write.warnings.push({
      at: this.now,
      code: w.code,
      detail: w.detail,
      identifier,
      profileId,
      sourceId: event?.sourceId ?? null,
      messageId: event?.messageId ?? null,
    });
  }

  private count(code: string): void {
    this.stats.warnings[code] = (this.stats.warnings[code] ?? 0) + 1;
  }

  /** Trait names already catalogued (the processor's copy; names discovered here are added to it). */
  setKnownTraitNames(names: Set<string>): void {
    this.knownTraitNames = names;
  }

  private discover(traits: Record<string, unknown>, at: number): void {
    if (this.knownTraitNames === null) return;
    for (const name of Object.keys(traits)) {
      if (this.knownTraitNames.has(name)) continue;
      this.knownTraitNames.add(name);
      this.write.catalogue.push({ name, ...describeTrait(name, traits[name]), firstSeen: at, lastSeen: at, edited: false });
    }
  }

  /** Everything to write; call once, after the last fact. */
  finish(): IdentityWrite {
    const w = this.write;
    for (const gone of this.absorbed) {
      const to = this.graph.resolveProfileId(gone);
      if (to === undefined || to === gone) continue;
      w.deletedProfiles.push(gone);
      w.redirects.push({ from: gone, to });
    }
    for (const [id, state] of this.profiles) {
      if (this.graph.resolveProfileId(id) !== id) continue;
      const full = this.identityDirty.has(id);
      if (!full && !state.traitsDirty) continue;
      const profile: StoredProfile = {
        snapshot: full ? this.graph.snapshot(id)! : { id, firstSeen: 0, mergeCount: 0, absorbed: [], identifiers: [] },
        traits: traitsToRecord(state.traits),
        createdAt: state.createdAt,
        updatedAt: this.now,
      };
      (full ? w.profiles : w.traitOnly).push(profile);
      if (full && this.created.has(id)) w.created.push(id);
    }
    for (const [key, since] of this.members) {
      const [accountId, profileId] = key.split('\u0000') as [string, string];
      w.members.push({ accountId, profileId: this.graph.resolveProfileId(profileId) ?? profileId, since });
    }
    for (const [id, a] of this.accounts)
      if (a.dirty) w.accounts.push({ id, traits: traitsToRecord(a.traits), createdAt: a.createdAt, updatedAt: this.now });
    return w;
  }
}
