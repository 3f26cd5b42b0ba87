/**
 * A private PostgreSQL schema for one test run. The database is shared between runs (and developers),
 * so every run works in its own `tessera_test_<random>` schema, selected through the connection URL.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const POSTGRES_TEST_BASE_URL = process.env.TESSERA_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Create a fresh schema and return a URL whose connections use it, or null when PostgreSQL is not
 * reachable on a developer machine. In CI a missing database is a failure, never a silent skip.
 */
export async function postgresTestUrl(): Promise<{ url: string; drop: () => Promise<void> } | null> {
  const schema = `tessera_test_${randomBytes(6).toString('hex')}`;
  try {
    await withClient(POSTGRES_TEST_BASE_URL, (c) => c.query(`CREATE SCHEMA ${schema}`));
  } catch (err) {
    const why = `PostgreSQL at ${redact(POSTGRES_TEST_BASE_URL)} is not usable (${(err as Error).message})`;
    if (process.env.CI === 'true') throw new Error(`${why}; CI must provide it (set TESSERA_TEST_DATABASE_URL)`, { cause: err });
    console.warn(`\n*** SKIPPING Postgres tests: ${why}. Start PostgreSQL or set TESSERA_TEST_DATABASE_URL. ***\n`);
    return null;
  }
  const url = new URL(POSTGRES_TEST_BASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    drop: () => withClient(POSTGRES_TEST_BASE_URL, async (c) => void (await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`))),
  };
}

/** Never print a password from the URL into test output. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable URL>';
  }
}
