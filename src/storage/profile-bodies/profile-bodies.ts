/**
 * The profile body's read model: everything `GET /api/v1/profiles/{id}` and the lookup show — the profile,
 * its accounts, segments, computed values, consent and subscriptions, and the consent configuration the
 * decisions are made under — read together. It spans three ports' tables (identity, segments, privacy),
 * so it has a port of its own: on SQLite it asks each store in turn (in-process calls), on PostgreSQL it
 * is one prepared statement, one round trip (`postgres-profile-bodies.ts`). One contract suite
 * (`test/storage/profile-bodies.test.ts`) holds both to the same answers.
 */
import type { ConsentState } from '../../core/consent/state.ts';
import type { Subscription } from '../../core/consent/subscriptions.ts';
import type { StoredProfile } from '../identity-records.ts';

export interface ProfileBody {
  profile: StoredProfile;
  /** Accounts (group ids) of the profile and of the profiles merged into it, sorted. */
  accounts: string[];
  /** Ids of the live segments the profile is in, sorted. */
  segments: string[];
  /** Computed trait values by key. */
  computed: Record<string, unknown>;
  /** Stored consent; null when none was ever recorded. */
  consent: ConsentState | null;
  /** Subscriptions of the profile's contact points (its e-mail addresses and phone numbers), by contact point. */
  subscriptions: Subscription[];
}

export interface ProfileBodies {
  /** The profiles holding these identifier keys (`type:value`), sorted by id; `consentConfig` is the stored setting (null: defaults). */
  holding(keys: readonly string[]): Promise<{ bodies: ProfileBody[]; consentConfig: string | null }>;
  /** These profiles, sorted by id; a merged-away id gives the profile that absorbed it. */
  byIds(ids: readonly string[]): Promise<{ bodies: ProfileBody[]; consentConfig: string | null }>;
}
