/** What the graph hands back: the plan of one fact, and profiles as plain data for the store. */
import type { FactRef } from './facts.ts';
import type { Identifier } from './identifiers.ts';
import type { IdentityWarning } from './warnings.ts';

export type DropReason = 'blocked_value' | 'junk_value' | 'limit_exceeded' | 'merge_cap' | 'identifier_cap';

export interface DroppedIdentifier {
  identifier: Identifier;
  reason: DropReason;
}

/** The plan produced by one fact: apply it to the store as it is. Empty lists are shared: do not mutate. */
export interface ResolutionOutcome {
  /** The profile the event belongs to after the fact; null when no identifier was usable. */
  readonly profileId: string | null;
  readonly created: boolean;
  /** Profiles absorbed into `profileId` (their identifiers and events now belong to it). */
  readonly mergedFrom: readonly string[];
  /** Identifiers new to the graph, now held by `profileId`. */
  readonly addedIdentifiers: readonly Identifier[];
  readonly droppedIdentifiers: readonly DroppedIdentifier[];
  readonly warnings: readonly IdentityWarning[];
}

export interface IdentifierRecordSnapshot {
  identifier: Identifier;
  /** Earliest event time that mentioned it. */
  firstSeen: number;
  /** The link fact that first put it in the graph. */
  broughtBy: FactRef;
}

/** A profile as plain data: what the store persists and `load` hydrates. */
export interface ProfileSnapshot {
  id: string;
  firstSeen: number;
  /** Profiles absorbed over its life (transitively); capped by `maxMerges`. */
  mergeCount: number;
  /** Ids of absorbed profiles; lookups of them redirect here. */
  absorbed: string[];
  /** In canonical order. */
  identifiers: IdentifierRecordSnapshot[];
}
