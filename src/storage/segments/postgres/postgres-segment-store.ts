/**
 * The segment store on PostgreSQL, sharing the store's pool (`PostgresStore.pool`). Many rows travel as
 * arrays (`unnest`) in one statement. The runner's lease is a session-level advisory lock keyed by the
 * schema, held on a dedicated connection: with several nodes, one runner is active and the others
 * stand by; if its connection dies the lock goes with it and another node takes over.
 */
import type pg from 'pg';
import type { AudienceLease } from '../segment-store.ts';
import { AudienceStateCache } from '../audience-state-cache.ts';
import { HistoryCache } from '../history-cache.ts';
import { SqlSegmentStore } from '../sql-segment-store.ts';
import { runTracked, SqlAudienceTx, type Column, type SqlConn, type SqlDialect } from '../sql-audience-tx.ts';
import type { SegmentDdlTypes } from '../segment-migrations.ts';

/** `?` placeholders become `$1…$n` (our SQL has no `?` anywhere else). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

const ARRAY_TYPE = { text: 'text[]', int: 'bigint[]' } as const;

class PgConn implements SqlConn {
  constructor(private readonly q: pg.Pool | pg.PoolClient) {}

  async all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.q.query(numbered(sql), params as unknown[])).rows as T[];
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    return (await this.q.query(numbered(sql), params as unknown[])).rowCount ?? 0;
  }

  async insertRows(table: string, columns: readonly Column[], rows: readonly unknown[][], conflict = ''): Promise<void> {
    if (rows.length === 0) return;
    const arrays = columns.map((_, i) => rows.map((r) => r[i]));
    const unnest = columns.map((c, i) => `$${i + 1}::${ARRAY_TYPE[c[1]]}`).join(', ');
    await this.q.query(`INSERT INTO ${table} (${columns.map((c) => c[0]).join(', ')}) SELECT * FROM unnest(${unnest}) ${conflict}`, arrays);
  }

  async deleteRows(table: string, keys: readonly Column[], rows: readonly unknown[][]): Promise<void> {
    if (rows.length === 0) return;
    const arrays = keys.map((_, i) => rows.map((r) => r[i]));
    const unnest = keys.map((c, i) => `$${i + 1}::${ARRAY_TYPE[c[1]]}`).join(', ');
    await this.q.query(`DELETE FROM ${table} WHERE (${keys.map((k) => k[0]).join(', ')}) IN (SELECT * FROM unnest(${unnest}))`, arrays);
  }
}

/** Set in the runner's write transactions: the `audience_writes` triggers skip them. */
const RUNNER_SETTING = 'tessera.audience_writer';
/** Every write of the runner's transactions to its tables is tracked (`runTracked`): all of them are its own. */
const RUNNER_BEGIN = `BEGIN; SET LOCAL ${RUNNER_SETTING} = 'runner'`;

const dialect: SqlDialect = {
  inList: (column, values) => [`${column} = ANY(?::text[])`, values],
  listTable: (values) => ['(SELECT unnest(?::text[]) AS v)', values],
  // `unnest` of a text array, not `jsonb_array_elements`: the planner sees how many pairs there are (it
  // guessed 100 for the JSON). Each is "seq,id": split at the first comma, any id is safe.
  pairTable: (pairs) => [
    "(SELECT substr(x, strpos(x, ',') + 1) AS v, split_part(x, ',', 1)::bigint AS s FROM unnest(?::text[]) AS x)",
    pairs.map(([v, seq]) => `${seq},${v}`),
  ],
  bool: (value) => value,
  lateral: true,
  // Set by the runner's transactions as they begin (`RUNNER_BEGIN`): no round trip of its own.
  runnerWrites: { begin: null, end: null },
};

const LOCK_KEY = `hashtext(? || ':' || coalesce(current_schema(), ''))`;

/** A connection that could not even roll back is unfit for reuse: the error says so. */
class BrokenConnection extends Error {}

async function inTransaction<T>(client: pg.PoolClient, work: (c: SqlConn) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  await client.query(begin);
  try {
    const result = await work(new PgConn(client));
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {
      throw new BrokenConnection('the connection broke during a transaction', { cause: err });
    });
    throw err;
  }
}

export class PostgresSegmentStore extends SqlSegmentStore {
  readonly backend = 'postgres' as const;
  protected readonly conn: PgConn;
  protected readonly dialect = dialect;
  protected readonly ddl: SegmentDdlTypes = {
    int: 'BIGINT',
    serial: 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
    real: 'DOUBLE PRECISION',
    bool: 'BOOLEAN',
    keyed: '',
    // Once per statement, not per row: a retention sweep deleting a million events updates the row once.
    onEventsRemoved: (statement) => [
      `CREATE FUNCTION tessera_events_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${statement}; RETURN NULL; END $$`,
      `CREATE TRIGGER events_removed AFTER DELETE OR UPDATE OF ident ON events FOR EACH STATEMENT EXECUTE FUNCTION tessera_events_removed()`,
    ],
    // Once per statement; skipped in the runner's own transactions (`dialect.runnerWrites`).
    onAudienceWrites: (tables, statement) => [
      `CREATE FUNCTION tessera_audience_written() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
         IF coalesce(current_setting('${RUNNER_SETTING}', true), '') <> 'runner' THEN ${statement}; END IF;
         RETURN NULL;
       END $$`,
      ...tables.map(
        (table) =>
          `CREATE TRIGGER ${table}_written AFTER INSERT OR UPDATE OR DELETE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION tessera_audience_written()`,
      ),
    ],
  };

  constructor(private readonly pool: pg.Pool) {
    super();
    this.conn = new PgConn(pool);
  }

  protected async transaction<T>(work: (c: SqlConn) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      return await inTransaction(client, work);
    } catch (err) {
      broken = err instanceof BrokenConnection;
      throw err;
    } finally {
      client.release(broken);
    }
  }

  protected async lockForMigration(c: SqlConn): Promise<void> {
    await c.all(`SELECT pg_advisory_xact_lock(${LOCK_KEY})`, ['tessera:segments-migrate']);
  }

  async acquireLease(): Promise<AudienceLease | null> {
    const client = await this.pool.connect();
    let held = false;
    try {
      const rows = await new PgConn(client).all<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_KEY}) AS ok`, ['tessera:audiences']);
      held = rows[0]?.ok === true;
    } finally {
      if (!held) client.release();
    }
    if (!held) return null;
    // A dead connection must not crash the process: its next query fails, and the runner lets go of the lease.
    const ignore = () => {};
    client.on('error', ignore);
    const conn = new PgConn(client);
    const caches = { histories: new HistoryCache(), states: new AudienceStateCache() };
    let released = false;
    return {
      run: (work) => runTracked(caches.states, (fn) => inTransaction(client, fn, RUNNER_BEGIN), dialect, work),
      // One snapshot for every read of a step (READ COMMITTED would give each statement its own).
      // Every read of a step looks up a bounded list (profiles, identifiers, a seq range) in large tables:
      // nested loops over the indexes are the plan. While a table grows faster than autovacuum analyses
      // it (a new store, a burst), the planner saw it as small and hashed all of it instead: the history
      // read of a step took ~28 ms at 60k events, and more as the table grew. Nested loops' estimates can
      // pass `jit_above_cost`: compiling a step's query then took ~220 ms for ~10 ms of work. No JIT here.
      read: (work, options) =>
        inTransaction(
          client,
          (c) => work(new SqlAudienceTx(c, dialect, options?.cached === false ? {} : caches)),
          'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; SET LOCAL jit = off',
        ),
      nextDueAt: async () => (await conn.all<{ due: number | null }>('SELECT min(due_at) AS due FROM audience_timers'))[0]?.due ?? null,
      definitionsVersion: () => this.definitionsVersion(),
      release: async () => {
        if (released) return;
        released = true;
        // Unlocking can fail on a dead connection: then the server has already dropped the lock with the session.
        const ok = await conn.all(`SELECT pg_advisory_unlock(${LOCK_KEY})`, ['tessera:audiences']).then(
          () => true,
          () => false,
        );
        client.off('error', ignore);
        client.release(!ok);
      },
    };
  }

  /** The pool belongs to the store, which closes it. */
  async close(): Promise<void> {}
}
