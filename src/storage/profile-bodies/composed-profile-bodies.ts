/**
 * Profile bodies asked of each store in turn: the profile from the core store, segments and computed
 * values from the segment store, consent and subscriptions from the privacy data. On SQLite these are
 * in-process calls, so there is nothing to gain from one statement; the contract suite runs it on both
 * backends as the reference the PostgreSQL statement is held to.
 */
import { contactPointKeyOf } from '../../core/consent/subscriptions.ts';
import { CONSENT_CONFIG_SETTING, type PrivacyData } from '../privacy/privacy-data.ts';
import type { SegmentStore } from '../segments/segment-store.ts';
import type { StoredProfile, Store } from '../store.ts';
import type { ProfileBodies, ProfileBody } from './profile-bodies.ts';

const byId = (a: StoredProfile, b: StoredProfile) => (a.snapshot.id < b.snapshot.id ? -1 : a.snapshot.id > b.snapshot.id ? 1 : 0);

export class ComposedProfileBodies implements ProfileBodies {
  constructor(
    private readonly store: Store,
    private readonly segments: Pick<SegmentStore, 'segmentsOf' | 'computedOf'>,
    private readonly privacy: PrivacyData,
  ) {}

  async holding(keys: readonly string[]) {
    return this.bodiesOf(await Promise.all(keys.map((k) => this.store.profileHolding(k))));
  }

  async byIds(ids: readonly string[]) {
    return this.bodiesOf(await Promise.all(ids.map((id) => this.store.getProfile(id))));
  }

  private async bodiesOf(found: ReadonlyArray<StoredProfile | null>) {
    const unique = new Map<string, StoredProfile>();
    for (const p of found) if (p !== null) unique.set(p.snapshot.id, p);
    const bodies = await Promise.all([...unique.values()].sort(byId).map((p) => this.bodyOf(p)));
    return { bodies, consentConfig: bodies.length === 0 ? null : await this.privacy.setting(CONSENT_CONFIG_SETTING) };
  }

  private async bodyOf(profile: StoredProfile): Promise<ProfileBody> {
    const id = profile.snapshot.id;
    const contactPoints = profile.snapshot.identifiers.flatMap((r) => contactPointKeyOf(r.identifier) ?? []);
    const [accounts, segments, computed, consent, subscriptions] = await Promise.all([
      this.store.accountsOf(id),
      this.segments.segmentsOf(id),
      this.segments.computedOf(id),
      this.privacy.consent(id),
      this.privacy.subscriptions(contactPoints),
    ]);
    const held = Object.keys(subscriptions)
      .sort()
      .map((k) => subscriptions[k]!);
    return { profile, accounts: accounts.sort(), segments: segments.sort(), computed, consent, subscriptions: held };
  }
}
