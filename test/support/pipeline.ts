/**
 * A store and a durable log on one backend, for tests that drive the processor themselves (no HTTP):
 * SQLite in a temporary directory, or a fresh PostgreSQL schema; null when PostgreSQL is not reachable
 * outside CI (in CI, `postgresTestUrl` fails instead).
 */
import path from 'node:path';
import { parseConfig, type Config } from '../../src/config/config.ts';
import { SqliteEventLog } from '../../src/log/sqlite/sqlite-log.ts';
import { openStore } from '../../src/storage/open-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { tempDir } from './harness.ts';
import { postgresTestUrl } from './postgres.ts';

export interface Pipeline {
  config: Config;
  store: Store;
  log: SqliteEventLog;
  close(): Promise<void>;
}

export async function openPipeline(backend: 'sqlite' | 'postgres'): Promise<Pipeline | null> {
  const dir = tempDir();
  const pg = backend === 'postgres' ? await postgresTestUrl() : null;
  if (backend === 'postgres' && pg === null) return null;
  const config = parseConfig({ TESSERA_DATA_DIR: dir, ...(pg ? { TESSERA_DATABASE_URL: pg.url } : {}) });
  const store = await openStore(config.storage);
  const log = new SqliteEventLog(path.join(dir, 'log.sqlite'));
  await store.migrate();
  return {
    config,
    store,
    log,
    async close() {
      await log.close();
      await store.close();
      await pg?.drop();
    },
  };
}
