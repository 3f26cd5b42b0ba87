/** The privacy SQL runner on PostgreSQL, sharing the store's pool. */
import { pgTransaction } from '../postgres/pg-transaction.ts';
import type pg from 'pg';
import { advisoryXactLock, COMMIT_LOCK } from '../postgres/postgres-store.ts';
import type { Dialect, Queryable, SqlRunner, TxLock } from './sql-runner.ts';
import { quoteIdent } from './sql-runner.ts';

/** Serialises privacy writers across every instance sharing the schema. */
export const PRIVACY_LOCK = 'tessera:privacy';

const dialect: Dialect = {
  kind: 'postgres',
  inList: (column, n) => `${column} = ANY($${n}::text[])`,
  inIntList: (column, n) => `${column} = ANY($${n}::bigint[])`,
  contains: (haystack, n) => `strpos(${haystack}, $${n}) > 0`,
  nowMs: '(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT',
};

const on = (client: pg.Pool | pg.PoolClient): Queryable => ({
  all: async <T>(sql: string, params: readonly unknown[] = []) => (await client.query(sql, params as unknown[])).rows as T[],
  run: async (sql: string, params: readonly unknown[] = []) => (await client.query(sql, params as unknown[])).rowCount ?? 0,
});

export class PostgresRunner implements SqlRunner {
  readonly dialect = dialect;
  private readonly direct: Queryable;

  constructor(private readonly pool: pg.Pool) {
    this.direct = on(pool);
  }

  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.direct.all<T>(sql, params);
  }

  run(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.direct.run(sql, params);
  }

  transaction<T>(lock: TxLock, work: (tx: Queryable) => Promise<T>): Promise<T> {
    return pgTransaction(this.pool, async (client) => {
      // Always in this order (privacy, then commit), so two privacy transactions cannot deadlock.
      await advisoryXactLock(client, PRIVACY_LOCK);
      if (lock === 'exclusive') await advisoryXactLock(client, COMMIT_LOCK);
      return work(on(client));
    });
  }

  async reclaim(tables: readonly string[]): Promise<void> {
    // Dead tuples keep deleted rows' bytes until VACUUM reclaims them. VACUUM cannot run in a transaction.
    if (tables.length > 0) await this.pool.query(`VACUUM ${tables.map(quoteIdent).join(', ')}`);
  }

  async tablesWithColumn(prefix: string, column: string): Promise<string[]> {
    const rows = await this.pool.query<{ table_name: string }>(
      `SELECT c.table_name FROM information_schema.columns c
       WHERE c.table_schema = current_schema() AND left(c.table_name, length($1)) = $1 AND c.column_name = $2
       ORDER BY 1`,
      [prefix, column],
    );
    return rows.rows.map((r) => r.table_name);
  }
}
