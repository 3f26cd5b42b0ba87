/** The one place that picks the privacy adapter: it follows the core store's backend and shares its connection. */
import type { Store } from '../store.ts';
import { PrivacyData } from './privacy-data.ts';
import { PRIVACY_MIGRATIONS } from './privacy-migrations.ts';
import type { PrivacyStore } from './privacy-store.ts';
import type { SqlRunner, TxLock } from './sql-runner.ts';

class SqlPrivacyStore implements PrivacyStore {
  readonly data: PrivacyData;
  constructor(
    readonly backend: 'sqlite' | 'postgres',
    readonly runner: SqlRunner,
  ) {
    this.data = new PrivacyData(runner, runner.dialect);
  }

  async migrate(): Promise<void> {
    await this.runner.transaction('exclusive', async (tx) => {
      await tx.run(
        'CREATE TABLE IF NOT EXISTS privacy_schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
      );
      const done = new Set((await tx.all<{ id: number }>('SELECT id FROM privacy_schema_migrations')).map((r) => Number(r.id)));
      for (const m of PRIVACY_MIGRATIONS) {
        if (done.has(m.id)) continue;
        const sql = this.backend === 'sqlite' ? m.sqlite : m.postgres;
        for (const statement of sql
          .split(';')
          .map((s) => s.trim())
          .filter((s) => s !== ''))
          await tx.run(statement);
        await tx.run('INSERT INTO privacy_schema_migrations (id, name, applied_at) VALUES ($1, $2, $3)', [m.id, m.name, Date.now()]);
      }
    });
  }

  transaction<T>(lock: TxLock, work: (tx: PrivacyData) => Promise<T>): Promise<T> {
    return this.runner.transaction(lock, (q) => work(new PrivacyData(q, this.runner.dialect)));
  }
}

/** The privacy store over an open core store (same database, same connection or pool). */
export async function openPrivacyStore(store: Store): Promise<PrivacyStore> {
  if (store.backend === 'postgres') {
    const { PostgresStore } = await import('../postgres/postgres-store.ts');
    const { PostgresRunner } = await import('./postgres-runner.ts');
    if (!(store instanceof PostgresStore)) throw new Error('a postgres store must be a PostgresStore');
    return new SqlPrivacyStore('postgres', new PostgresRunner(store.pool));
  }
  const { SqliteStore } = await import('../sqlite/sqlite-store.ts');
  const { SqliteRunner } = await import('./sqlite-runner.ts');
  if (!(store instanceof SqliteStore)) throw new Error('a sqlite store must be a SqliteStore');
  return new SqlPrivacyStore('sqlite', new SqliteRunner(store.db));
}
