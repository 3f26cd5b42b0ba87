/**
 * The two stores every HTTP test runs against. `startPerBackend` starts one Tessera per backend for the
 * enclosing `describe` (a fresh PostgreSQL schema each) and stops it afterwards; without a reachable
 * PostgreSQL outside CI it starts nothing and the tests skip (in CI, `postgresTestUrl` fails instead).
 */
import { after, before } from 'node:test';
import { startTessera, type Harness } from './harness.ts';
import { postgresTestUrl } from './postgres.ts';

export interface Backend {
  name: 'SQLite' | 'PostgreSQL';
  env: () => Promise<{ env: Record<string, string>; drop: () => Promise<void> } | null>;
}

export const backends: Backend[] = [
  { name: 'SQLite', env: async () => ({ env: {}, drop: async () => {} }) },
  {
    name: 'PostgreSQL',
    env: async () => {
      const pg = await postgresTestUrl();
      return pg && { env: { TESSERA_DATABASE_URL: pg.url }, drop: pg.drop };
    },
  },
];

/** Register hooks that start Tessera on `backend` before the suite (handing it to `set`) and stop it after. */
export function startPerBackend(backend: Backend, set: (h: Harness) => void, extraEnv: Record<string, string> = {}): void {
  let harness: Harness | undefined;
  let drop = async () => {};
  before(async () => {
    const b = await backend.env();
    if (b === null) return;
    drop = b.drop;
    harness = await startTessera({ ...b.env, ...extraEnv });
    set(harness);
  });
  after(async () => {
    await harness?.close();
    await drop();
  });
}
