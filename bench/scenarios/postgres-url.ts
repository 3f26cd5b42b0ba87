/** The PostgreSQL the bench uses: a fresh schema in TESSERA_TEST_DATABASE_URL (default: the local `test` database). */
import pg from 'pg';

export async function postgresUrlForBench(): Promise<string | null> {
  const base = process.env.TESSERA_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const client = new pg.Client({ connectionString: base, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const schema = `tessera_bench_${process.pid}_${Date.now()}`;
    await client.query(`CREATE SCHEMA ${schema}`);
    const url = new URL(base);
    url.searchParams.set('options', `-c search_path=${schema}`);
    return url.toString();
  } catch {
    return null;
  } finally {
    await client.end().catch(() => undefined);
  }
}
