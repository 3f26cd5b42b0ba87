/**
 * The shared store: PostgreSQL through a small `pg` pool. Behaves like the SQLite adapter (one contract
 * suite runs against both); what differs is how the work is batched into SQL, since every statement is
 * a network round trip here.
 */
import pg from 'pg';
import type {
  CommitResult,
  EventFilter,
  FailedEventFilter,
  ProcessedBatch,
  Source,
  Store,
  StoredEvent,
  StoredFailedEvent,
} from '../store.ts';
import { toFailed, toSource, toStoredEvent, type EventRow, type FailedRow, type SourceRow } from '../rows.ts';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.ts';

/**
 * Advisory lock names. Advisory locks are database-wide, so the key includes the schema: deployments
 * (or test runs) in different schemas of one database must not wait for each other.
 */
const MIGRATE_LOCK = 'tessera:migrate';
const COMMIT_LOCK = 'tessera:commit';
const LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtext($1 || ':' || coalesce(current_schema(), '')))`;

/**
 * BIGINT (ms timestamps, seq, count(*)) arrives as text because it can exceed 2^53. Ours never do, so
 * parse to number, but refuse a value that would silently lose precision: a rounded seq or cursor would
 * skip or replay events.
 */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`BIGINT value ${text} does not fit in a JavaScript number`);
  return n;
}

const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? parseInt8 : pg.types.getTypeParser(oid, format ?? 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * De-duplicate and insert a batch of events in one statement. Keys are matched inside PostgreSQL, after
 * the driver has encoded the strings: a lone surrogate in a messageId becomes U+FFFD on the way in, so
 * matching the RETURNING rows against the JavaScript input would drop such events. DISTINCT ON keeps
 * the first occurrence of a key repeated inside the batch; ORDER BY ord gives seq in arrival order.
 */
const INSERT_EVENTS_SQL = `
  WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::text[])
      WITH ORDINALITY AS t(source_id, message_id, type, name, user_id, anonymous_id, ts, received_at, payload, ord)
  ),
  firsts AS (
    SELECT DISTINCT ON (source_id, message_id) * FROM input ORDER BY source_id, message_id, ord
  ),
  fresh AS (
    INSERT INTO dedup (source_id, message_id, seen_at)
    SELECT source_id, message_id, $10::bigint FROM firsts
    ON CONFLICT DO NOTHING
    RETURNING source_id, message_id
  )
  INSERT INTO events (source_id, message_id, type, name, user_id, anonymous_id, ts, received_at, payload)
  SELECT f.source_id, f.message_id, f.type, f.name, f.user_id, f.anonymous_id, f.ts, f.received_at, f.payload
  FROM firsts f JOIN fresh USING (source_id, message_id)
  ORDER BY f.ord`;

const INSERT_FAILED_SQL = `
  INSERT INTO failed_events (source_id, received_at, reason, detail, message_id, payload)
  SELECT source_id, received_at, reason, detail, message_id, payload
  FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[])
    WITH ORDINALITY AS t(source_id, received_at, reason, detail, message_id, payload, ord)
  ORDER BY ord`;

export class PostgresStore implements Store {
  readonly backend = 'postgres' as const;
  private readonly pool: pg.Pool;
  private closed = false;

  constructor(url: string) {
    // A search_path (or any server setting) travels in the URL: `?options=-c%20search_path%3Dmy_schema`.
    this.pool = new pg.Pool({ connectionString: url, max: 10, types: typeParsers });
    // An idle client whose connection dies is removed by the pool and the next query reconnects; without
    // a listener the 'error' event would crash the process instead.
    this.pool.on('error', () => {});
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      // A client that cannot even roll back is not fit to go back into the pool.
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async migrate(): Promise<void> {
    await this.transaction(async (c) => {
      // Serialises concurrent migrators (e.g. several instances starting at once): CREATE TABLE IF NOT
      // EXISTS alone still races on the catalogue.
      await c.query(LOCK_SQL, [MIGRATE_LOCK]);
      await c.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
      );
      const done = new Set((await c.query<{ id: number }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id));
      for (const m of POSTGRES_MIGRATIONS) {
        if (done.has(m.id)) continue;
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations (id, name, applied_at) VALUES ($1, $2, $3)', [m.id, m.name, Date.now()]);
      }
    });
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async createSource(s: Source): Promise<void> {
    await this.pool.query('INSERT INTO sources (id, name, write_key, enabled, created_at) VALUES ($1, $2, $3, $4, $5)', [
      s.id,
      s.name,
      s.writeKey,
      s.enabled,
      s.createdAt,
    ]);
  }

  async listSources(): Promise<Source[]> {
    return (await this.pool.query<SourceRow>('SELECT * FROM sources ORDER BY created_at, id')).rows.map(toSource);
  }

  async getSource(id: string): Promise<Source | null> {
    const row = (await this.pool.query<SourceRow>('SELECT * FROM sources WHERE id = $1', [id])).rows[0];
    return row ? toSource(row) : null;
  }

  async updateSource(id: string, patch: Partial<Pick<Source, 'name' | 'writeKey' | 'enabled'>>): Promise<Source | null> {
    const current = await this.getSource(id);
    if (!current) return null;
    const next = { ...current, ...patch };
    await this.pool.query('UPDATE sources SET name = $1, write_key = $2, enabled = $3 WHERE id = $4', [
      next.name,
      next.writeKey,
      next.enabled,
      id,
    ]);
    return next;
  }

  async getSetting(key: string): Promise<string | null> {
    const row = (await this.pool.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key])).rows[0];
    return row?.value ?? null;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.pool.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [
      key,
      value,
    ]);
  }

  async commitBatch(batch: ProcessedBatch): Promise<CommitResult> {
    return this.transaction(async (c) => {
      // One writer at a time, as on SQLite: seq is the paging cursor (`afterSeq`), so a batch must not
      // become visible after a later-numbered one, or a follower would skip it.
      await c.query(LOCK_SQL, [COMMIT_LOCK]);
      let stored = 0;
      if (batch.events.length > 0) {
        const ev = batch.events.map((e) => e.event);
        const inserted = await c.query(INSERT_EVENTS_SQL, [
          ev.map((e) => e.sourceId),
          ev.map((e) => e.messageId),
          ev.map((e) => e.type),
          ev.map((e) => e.name),
          ev.map((e) => e.userId),
          ev.map((e) => e.anonymousId),
          ev.map((e) => e.timestamp),
          ev.map((e) => e.receivedAt),
          batch.events.map((e) => e.payload),
          batch.now,
        ]);
        stored = inserted.rowCount ?? 0;
      }
      if (batch.failed.length > 0) {
        const f = batch.failed;
        await c.query(INSERT_FAILED_SQL, [
          f.map((x) => x.sourceId),
          f.map((x) => x.receivedAt),
          f.map((x) => x.reason),
          f.map((x) => x.detail),
          f.map((x) => x.messageId),
          f.map((x) => x.payload),
        ]);
      }
      await c.query('INSERT INTO cursors (name, seq) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq', [
        batch.cursorName,
        batch.cursorSeq,
      ]);
      return { stored, duplicates: batch.events.length - stored };
    });
  }

  async readCursor(name: string): Promise<number> {
    const row = (await this.pool.query<{ seq: number }>('SELECT seq FROM cursors WHERE name = $1', [name])).rows[0];
    return row?.seq ?? 0;
  }

  async expireDedupKeys(olderThan: number): Promise<number> {
    return (await this.pool.query('DELETE FROM dedup WHERE seen_at < $1', [olderThan])).rowCount ?? 0;
  }

  async listEvents(f: EventFilter): Promise<StoredEvent[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (column: string, op: string, v: unknown) => {
      params.push(v);
      where.push(`${column} ${op} $${params.length}`);
    };
    if (f.sourceId !== undefined) add('source_id', '=', f.sourceId);
    if (f.type !== undefined) add('type', '=', f.type);
    if (f.name !== undefined) add('name', '=', f.name);
    if (f.userId !== undefined) add('user_id', '=', f.userId);
    if (f.anonymousId !== undefined) add('anonymous_id', '=', f.anonymousId);
    if (f.from !== undefined) add('ts', '>=', f.from);
    if (f.to !== undefined) add('ts', '<', f.to);
    if (f.beforeSeq !== undefined) add('seq', '<', f.beforeSeq);
    if (f.afterSeq !== undefined) add('seq', '>', f.afterSeq);
    const order = f.afterSeq !== undefined ? 'ASC' : 'DESC';
    params.push(f.limit);
    const sql = `SELECT * FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq ${order} LIMIT $${params.length}`;
    return (await this.pool.query<EventRow>(sql, params)).rows.map(toStoredEvent);
  }

  async countEvents(): Promise<number> {
    return (await this.pool.query<{ n: number }>('SELECT count(*) AS n FROM events')).rows[0]!.n;
  }

  async listFailedEvents(f: FailedEventFilter): Promise<StoredFailedEvent[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (column: string, op: string, v: unknown) => {
      params.push(v);
      where.push(`${column} ${op} $${params.length}`);
    };
    if (f.sourceId !== undefined) add('source_id', '=', f.sourceId);
    if (f.reason !== undefined) add('reason', '=', f.reason);
    if (f.beforeId !== undefined) add('id', '<', f.beforeId);
    params.push(f.limit);
    const sql = `SELECT * FROM failed_events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT $${params.length}`;
    return (await this.pool.query<FailedRow>(sql, params)).rows.map(toFailed);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
