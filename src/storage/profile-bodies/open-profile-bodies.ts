/** The one place that picks how profile bodies are read: one statement on PostgreSQL, each store in turn on SQLite. */
import { openPrivacyStore } from '../privacy/open-privacy-store.ts';
import { openSegmentStore } from '../segments/open-segment-store.ts';
import type { Store } from '../store.ts';
import { ComposedProfileBodies } from './composed-profile-bodies.ts';
import type { ProfileBodies } from './profile-bodies.ts';

export async function openProfileBodies(store: Store): Promise<ProfileBodies> {
  if (store.backend === 'postgres') {
    const [{ PostgresProfileBodies }, { PostgresStore }] = await Promise.all([
      import('./postgres-profile-bodies.ts'),
      import('../postgres/postgres-store.ts'),
    ]);
    if (!(store instanceof PostgresStore)) throw new Error('a postgres store must be a PostgresStore');
    return new PostgresProfileBodies(store.pool);
  }
  const [segments, privacy] = await Promise.all([openSegmentStore(store), openPrivacyStore(store)]);
  return new ComposedProfileBodies(store, segments, privacy.data);
}
