/** Row shapes of the identity tables (same columns on SQLite and PostgreSQL) and their mappers. */
import { compareIdentifiers, identifierKey } from '../core/identity/identifiers.ts';
import { factIdentifiers, type IdentityFact } from '../core/identity/facts.ts';
import type { TraitEntry } from '../core/identity/traits.ts';
import type {
  StoredAccount,
  StoredIdentityWarning,
  StoredMergeLogEntry,
  StoredProfile,
  TraitCatalogueEntry,
  TraitCategory,
} from './identity-records.ts';

export interface ProfileRow {
  id: string;
  first_seen: number;
  merge_count: number;
  absorbed: string;
  traits: string;
  created_at: number;
  updated_at: number;
}

export interface IdentityRow {
  key: string;
  type: string;
  value: string;
  profile_id: string;
  first_seen: number;
  fact_seq: number;
  event_message_id: string;
  source_id: string;
}

export interface MergeLogRow {
  id: number;
  at: number;
  kind: string;
  profile_id: string;
  other_ids: string;
  reason: string;
  fact_seq: number;
  actor: string;
}

export interface WarningRow {
  id: number;
  at: number;
  code: string;
  detail: string;
  identifier: string | null;
  profile_id: string | null;
  source_id: string | null;
  message_id: string | null;
}

export interface AccountRow {
  id: string;
  traits: string;
  created_at: number;
  updated_at: number;
}

export interface CatalogueRow {
  name: string;
  type: string;
  example: string | null;
  category: string;
  pii: number | boolean;
  first_seen: number;
  last_seen: number;
  edited: number | boolean;
}

/** Profiles from their rows and the identity rows of all of them (grouped here). */
export function toStoredProfiles(profiles: readonly ProfileRow[], identities: readonly IdentityRow[]): StoredProfile[] {
  const byProfile = new Map<string, IdentityRow[]>();
  for (const r of identities) {
    const list = byProfile.get(r.profile_id);
    if (list) list.push(r);
    else byProfile.set(r.profile_id, [r]);
  }
  return profiles.map((p) => {
    const ids = (byProfile.get(p.id) ?? []).map((r) => ({
      identifier: { type: r.type, value: r.value },
      firstSeen: r.first_seen,
      broughtBy: { seq: r.fact_seq, eventMessageId: r.event_message_id, sourceId: r.source_id },
    }));
    ids.sort((a, b) => compareIdentifiers(a.identifier, b.identifier));
    return {
      snapshot: {
        id: p.id,
        firstSeen: p.first_seen,
        mergeCount: p.merge_count,
        absorbed: JSON.parse(p.absorbed) as string[],
        identifiers: ids,
      },
      traits: JSON.parse(p.traits) as Record<string, TraitEntry>,
      createdAt: p.created_at,
      updatedAt: p.updated_at,
    };
  });
}

/** The identity rows of a profile, as written. */
export function identityRowsOf(profile: StoredProfile): IdentityRow[] {
  return profile.snapshot.identifiers.map((r) => ({
    key: identifierKey(r.identifier),
    type: r.identifier.type,
    value: r.identifier.value,
    profile_id: profile.snapshot.id,
    first_seen: r.firstSeen,
    fact_seq: r.broughtBy.seq,
    event_message_id: r.broughtBy.eventMessageId,
    source_id: r.broughtBy.sourceId,
  }));
}

/** The distinct identifier keys a fact is indexed by. */
export function factKeys(fact: IdentityFact): string[] {
  return [...new Set(factIdentifiers(fact).map(identifierKey))];
}

export const toMergeLogEntry = (r: MergeLogRow): StoredMergeLogEntry => ({
  id: r.id,
  at: r.at,
  kind: r.kind as StoredMergeLogEntry['kind'],
  profileId: r.profile_id,
  otherIds: JSON.parse(r.other_ids) as string[],
  reason: r.reason,
  factSeq: r.fact_seq,
  actor: r.actor,
});

export const toWarning = (r: WarningRow): StoredIdentityWarning => ({
  id: r.id,
  at: r.at,
  code: r.code,
  detail: r.detail,
  identifier: r.identifier,
  profileId: r.profile_id,
  sourceId: r.source_id,
  messageId: r.message_id,
});

export const toAccount = (r: AccountRow): StoredAccount => ({
  id: r.id,
  traits: JSON.parse(r.traits) as Record<string, TraitEntry>,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toCatalogueEntry = (r: CatalogueRow): TraitCatalogueEntry => ({
  name: r.name,
  type: r.type,
  example: r.example,
  category: r.category as TraitCategory,
  pii: r.pii === true || r.pii === 1,
  firstSeen: r.first_seen,
  lastSeen: r.last_seen,
  edited: r.edited === true || r.edited === 1,
});
