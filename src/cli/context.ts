/** What CLI commands share: the parsed configuration and a way to open the store. */
import type { Command } from 'commander';
import { parseConfig, type Config, type Flags } from '../config/config.ts';
import { migrateAll } from '../storage/migrate-all.ts';
import { openStore } from '../storage/open-store.ts';
import type { Store } from '../storage/store.ts';

export function configFrom(command: Command, extra: Flags = {}): Config {
  const global = command.optsWithGlobals() as { dataDir?: string; databaseUrl?: string };
  return parseConfig(process.env, { dataDir: global.dataDir, databaseUrl: global.databaseUrl, ...extra });
}

/** Open (and migrate) the store, run `fn`, close the store whatever happens. */
export async function withStore<T>(config: Config, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(config.storage);
  try {
    await migrateAll(store);
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
