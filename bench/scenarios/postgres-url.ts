/** The PostgreSQL the bench uses: fresh schemas in TESSERA_TEST_DATABASE_URL (default: the local `test` database). */
import pg from 'pg';

const base = () => process.env.TESSERA_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A URL whose search_path is a new, empty schema; null when PostgreSQL is not reachable. */
export async function postgresUrlForBench(): Promise<string | null> {
  const client = new pg.Client({ connectionString: base(), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const schema = `tessera_bench_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
    await client.query(`CREATE SCHEMA ${schema}`);
    const url = new URL(base());
    url.searchParams.set('options', `-c search_path=${schema}`);
    return url.toString();
  } catch {
    return null;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Drop the schema of a URL made by `postgresUrlForBench` (best effort). */
export async function dropBenchSchema(url: string): Promise<void> {
  const schema = /search_path=(tessera_bench_\w+)/.exec(decodeURIComponent(new URL(url).searchParams.get('options') ?? ''))?.[1];
  if (!schema) return;
  const client = new pg.Client({ connectionString: base(), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } catch {
    // left for a later cleanup; the bench's results do not depend on it
  } finally {
    await client.end().catch(() => undefined);
  }
}
