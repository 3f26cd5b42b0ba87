/** The one place that picks the segment store's backend: the same as the main store's, on its connection. */
import type { Store } from '../store.ts';
import type { SegmentStore } from './segment-store.ts';

export async function openSegmentStore(store: Store): Promise<SegmentStore> {
  if (store.backend === 'postgres') {
    const [{ PostgresSegmentStore }, { PostgresStore }] = await Promise.all([
      import('./postgres/postgres-segment-store.ts'),
      import('../postgres/postgres-store.ts'),
    ]);
    if (!(store instanceof PostgresStore)) throw new Error('a postgres store must be a PostgresStore');
    return new PostgresSegmentStore(store.pool);
  }
  const [{ SqliteSegmentStore }, { SqliteStore }] = await Promise.all([
    import('./sqlite/sqlite-segment-store.ts'),
    import('../sqlite/sqlite-store.ts'),
  ]);
  if (!(store instanceof SqliteStore)) throw new Error('a sqlite store must be a SqliteStore');
  return new SqliteSegmentStore(store.db);
}
