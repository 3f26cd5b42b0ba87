/**
 * What the store keeps for identity and profiles, as plain data shared by both adapters, the processor
 * and the profile service. Identity facts are the truth; profiles, identities and redirects are a view
 * of them that the processor keeps current (and `tessera profiles rebuild` recomputes).
 */
import type { IdentityFact } from '../core/identity/facts.ts';
import type { ProfileSnapshot } from '../core/identity/outcome.ts';
import type { TraitEntry } from '../core/identity/traits.ts';

/** A person profile: its identity (snapshot) and its traits with provenance. */
export interface StoredProfile {
  snapshot: ProfileSnapshot;
  /** Encoded trait path → newest write (see `core/identity/traits.ts`). */
  traits: Record<string, TraitEntry>;
  createdAt: number;
  updatedAt: number;
}

/** An account (a `group` call's `groupId`) with its own traits. */
export interface StoredAccount {
  id: string;
  traits: Record<string, TraitEntry>;
  createdAt: number;
  updatedAt: number;
}

export interface AccountMember {
  accountId: string;
  profileId: string;
  /** Event time of the first group call linking them. */
  since: number;
}

/** Why two profiles became one, or one became two; kept forever (the merge log). */
export interface MergeLogEntry {
  at: number;
  kind: 'auto' | 'operator_merge' | 'unmerge';
  /** The surviving profile (merges) or the profile the identifier was detached from (unmerge). */
  profileId: string;
  /** The absorbed profile (merges) or the profile(s) created by the unmerge, comma-free ids. */
  otherIds: string[];
  reason: string;
  factSeq: number;
  /** Who asked for it: `processor` for automatic merges, the operator's label otherwise. */
  actor: string;
}

export interface StoredMergeLogEntry extends MergeLogEntry {
  id: number;
}

/** A refusal or dropped identifier, visible through the API (identity warnings are values, not errors). */
export interface IdentityWarningRecord {
  at: number;
  code: string;
  detail: string;
  /** The identifier concerned, as `type:value`, when there is one. */
  identifier: string | null;
  profileId: string | null;
  sourceId: string | null;
  messageId: string | null;
}

export interface StoredIdentityWarning extends IdentityWarningRecord {
  id: number;
}

import type { TraitCategory } from '../core/identity/trait-catalogue.ts';
export type { TraitCategory } from '../core/identity/trait-catalogue.ts';

/** One trait name discovered in the data (top-level name), editable by operators. */
export interface TraitCatalogueEntry {
  name: string;
  type: string;
  example: string | null;
  category: TraitCategory;
  pii: boolean;
  firstSeen: number;
  lastSeen: number;
  /** True once an operator edited category or PII flag: discovery no longer overwrites them. */
  edited: boolean;
}

/** Everything one micro-batch (or one operator command) changes in identity, profiles and accounts. */
export interface IdentityWrite {
  /** Profiles to insert or replace whole. Their identities are rewritten from `snapshot.identifiers`. */
  profiles: StoredProfile[];
  /** Ids among `profiles` that are new (created by this write): they have no identity rows to replace. */
  created: string[];
  /** Profiles whose identifiers did not change: only traits and `updatedAt` are written. */
  traitOnly: StoredProfile[];
  /** Profile ids that no longer exist (absorbed by a merge, or retired by an unmerge). */
  deletedProfiles: string[];
  /** Absorbed id → survivor. Redirects already pointing at an absorbed id are re-pointed too. */
  redirects: Array<{ from: string; to: string }>;
  facts: IdentityFact[];
  mergeLog: MergeLogEntry[];
  warnings: IdentityWarningRecord[];
  accounts: StoredAccount[];
  members: AccountMember[];
  catalogue: TraitCatalogueEntry[];
}

export const emptyIdentityWrite = (): IdentityWrite => ({
  profiles: [],
  created: [],
  traitOnly: [],
  deletedProfiles: [],
  redirects: [],
  facts: [],
  mergeLog: [],
  warnings: [],
  accounts: [],
  members: [],
  catalogue: [],
});

/** An identify event as trait recomputation needs it. */
export interface TraitSourceEvent {
  /** The stored message JSON. */
  payload: string;
  timestamp: number;
  sourceId: string;
  messageId: string;
}

/** Reads the processor makes inside its transaction, so they see every earlier commit of every worker. */
export interface IdentityReader {
  /** Profiles holding any of these identifier keys (`type:value`), each once, with all its identifiers. */
  profilesHolding(keys: readonly string[]): Promise<StoredProfile[]>;
  /** Profiles by id, following redirects of merged-away ids; unknown ids are skipped. */
  profilesById(ids: readonly string[]): Promise<StoredProfile[]>;
  /** Every fact mentioning any of these identifier keys. */
  factsMentioning(keys: readonly string[]): Promise<IdentityFact[]>;
  /** Identify events attributed to these identifier keys, oldest first (to recompute traits after an unmerge). */
  identifyEventsOf(keys: readonly string[]): Promise<TraitSourceEvent[]>;
  accounts(ids: readonly string[]): Promise<StoredAccount[]>;
  /** Trait names already in the catalogue (to write each new name once). */
  catalogueNames(): Promise<Set<string>>;
}
