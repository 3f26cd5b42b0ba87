/** The one place that chooses the storage backend from configuration. */
import type { StorageBackend } from '../config/config.ts';
import type { Store } from './store.ts';
import type { WalFile } from './sqlite/wal-checkpointer.ts';

export async function openStore(backend: StorageBackend): Promise<Store> {
  if (backend.kind === 'postgres') {
    // Loaded only when used, so the embedded default never loads the pg driver.
    const { PostgresStore } = await import('./postgres/postgres-store.ts');
    return new PostgresStore(backend.url);
  }
  const { SqliteStore } = await import('./sqlite/sqlite-store.ts');
  return new SqliteStore(backend.file);
}

/** The store's SQLite files whose WAL a background checkpointer should copy (none on PostgreSQL). */
export function storeWalFiles(backend: StorageBackend): WalFile[] {
  return backend.kind === 'sqlite' && backend.file !== ':memory:' ? [{ name: 'store', file: backend.file }] : [];
}
