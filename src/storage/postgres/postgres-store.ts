/**
 * The shared store: PostgreSQL through a small `pg` pool. Behaves like the SQLite adapter (one contract
 * suite runs against both); what differs is how the work is batched into SQL, since every statement is
 * a network round trip here.
 */
import pg from 'pg';
import type {
  BatchTx,
  CommitResult,
  EventFilter,
  FailedEventFilter,
  ProcessedBatch,
  ProfileSearch,
  Source,
  Store,
  StoredAccount,
  StoredEventWithIdent,
  StoredFailedEvent,
  StoredIdentityWarning,
  StoredMergeLogEntry,
  StoredProfile,
  TraitCatalogueEntry,
} from '../store.ts';
import { CursorMovedError } from '../store.ts';
import * as identity from './postgres-identity.ts';
import { pgTransaction } from './pg-transaction.ts';
import { insertRows } from './pg-values.ts';
import { claimDedupKeys } from './postgres-dedup.ts';
import {
  CONSENT_INBOX_COLUMNS,
  consentInboxValues,
  EVENT_COLUMNS,
  eventValues,
  toFailed,
  toSource,
  toStoredEvent,
  type EventRow,
  type FailedRow,
  type SourceRow,
} from '../rows.ts';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.ts';

/**
 * Advisory lock names. Advisory locks are database-wide, so the key includes the schema: deployments
 * (or test runs) in different schemas of one database must not wait for each other.
 */
const MIGRATE_LOCK = 'tessera:migrate';
/** The processor's commit lock: other writers of identity-related tables (erasure) take it too. */
export const COMMIT_LOCK = 'tessera:commit';
const LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtext($1 || ':' || coalesce(current_schema(), '')))`;

/** Take a transaction-scoped advisory lock named `name` (scoped to the current schema), e.g. `COMMIT_LOCK`. */
export async function advisoryXactLock(client: pg.ClientBase, name: string): Promise<void> {
  await client.query(LOCK_SQL, [name]);
}

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

const INSERT_EVENTS = `INSERT INTO events (${EVENT_COLUMNS})`;

const INSERT_FAILED = `INSERT INTO failed_events (source_id, received_at, reason, detail, message_id, payload)`;

export class PostgresStore implements Store {
  readonly backend = 'postgres' as const;
  readonly commitsElsewhere = true;
  /** The connection pool, for the other domains' PostgreSQL adapters (segments, privacy) to share. */
  readonly pool: pg.Pool;
  private closed = false;

  constructor(url: string) {
    // A search_path (or any server setting) travels in the URL: `?options=-c%20search_path%3Dmy_schema`.
    this.pool = new pg.Pool({ connectionString: url, max: 10, types: typeParsers });
    // An idle client whose connection dies is removed by the pool and the next query reconnects; without
    // a listener the 'error' event would crash the process instead.
    this.pool.on('error', () => {});
  }

  private transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return pgTransaction(this.pool, work);
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
    return this.runBatch(async (tx) => {
      const fresh = await tx.claim(batch.events, batch.now);
      const events = batch.events.filter((_, i) => fresh[i]);
      await tx.write({ ...batch, events });
      return { stored: events.length, duplicates: batch.events.length - events.length };
    });
  }

  private async write(c: pg.PoolClient, batch: ProcessedBatch): Promise<void> {
    // The cursor first: a batch whose cursor another processor moved fails before writing anything.
    if (batch.cursorFrom === undefined) {
      await c.query('INSERT INTO cursors (name, seq) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq', [
        batch.cursorName,
        batch.cursorSeq,
      ]);
    } else {
      const moved = await c.query(
        'INSERT INTO cursors (name, seq) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq WHERE cursors.seq = $3',
        [batch.cursorName, batch.cursorSeq, batch.cursorFrom],
      );
      if (moved.rowCount === 0) throw new CursorMovedError(batch.cursorName, batch.cursorFrom);
    }
    await insertRows(c, INSERT_EVENTS, batch.events.map(eventValues));
    await insertRows(
      c,
      INSERT_FAILED,
      batch.failed.map((x) => [x.sourceId, x.receivedAt, x.reason, x.detail, x.messageId, x.payload]),
    );
    if (batch.identity) await identity.writeIdentity(c, batch.identity);
    await insertRows(
      c,
      `INSERT INTO privacy_consent_inbox (${CONSENT_INBOX_COLUMNS})`,
      (batch.consentInbox ?? []).map((r) => consentInboxValues(r, batch)),
      'ON CONFLICT (dedup_key) DO NOTHING',
    );
    for (const r of batch.commandResults ?? [])
      await c.query(
        'INSERT INTO command_results (request_id, result, at) VALUES ($1, $2, $3) ON CONFLICT (request_id) DO UPDATE SET result = excluded.result',
        [r.requestId, JSON.stringify(r.result), batch.now],
      );
  }

  async syncCommitted(): Promise<void> {
    // Every commit returned durable (synchronous_commit).
  }

  async runBatch<T>(work: (tx: BatchTx) => Promise<T>): Promise<T> {
    return this.transaction(async (c) => {
      // One writer at a time, as on SQLite: seq is the paging cursor (`afterSeq`), so a batch must not
      // become visible after a later-numbered one, or a follower would skip it; and identity changes of
      // workers on other machines are applied one batch at a time, each reading the others' commits.
      // The lock is taken after the de-duplication claim: the claim is safe without it (the key is unique;
      // a key another batch claimed and has not committed waits for that batch's end), so the nodes
      // sharing the store take turns only for the rest. Keys are claimed in key order (`postgres-dedup.ts`), so two
      // claims cannot deadlock; the lock holder never waits for a claim (it touches no claimed key).
      let locked: Promise<void> | null = null;
      const lock = () => (locked ??= c.query(LOCK_SQL, [COMMIT_LOCK]).then(() => undefined));
      const underLock =
        <A extends unknown[], R>(f: (...args: A) => Promise<R>) =>
        async (...args: A): Promise<R> => {
          await lock();
          return f(...args);
        };
      const tx: BatchTx = {
        claim: (events, now) => claimDedupKeys(c, events, now),
        lock,
        write: underLock((batch) => this.write(c, batch)),
        profilesHolding: underLock((keys) => identity.profilesHolding(c, keys)),
        profilesById: underLock((ids) => identity.profilesById(c, ids)),
        factsMentioning: underLock((keys) => identity.factsMentioning(c, keys)),
        identifyEventsOf: underLock((keys) => identity.identifyEventsOf(c, keys)),
        accounts: underLock((ids) => identity.accounts(c, ids)),
        catalogueNames: underLock(() => identity.catalogueNames(c)),
        allFacts: underLock(() => identity.allFacts(c)),
        nextFactSeq: underLock(
          async () => (await c.query<{ n: number }>('SELECT coalesce(max(seq), 0) + 1 AS n FROM identity_facts')).rows[0]!.n,
        ),
        clearProfiles: underLock(() => identity.clearProfiles(c)),
        writeIdentity: underLock((w) => identity.writeIdentity(c, w)),
      };
      const result = await work(tx);
      // A batch that only claimed (or did nothing) still commits in turn with the others.
      await lock();
      return result;
    });
  }

  async readCursor(name: string): Promise<number> {
    const row = (await this.pool.query<{ seq: number }>('SELECT seq FROM cursors WHERE name = $1', [name])).rows[0];
    return row?.seq ?? 0;
  }

  async expireDedupKeys(olderThan: number): Promise<number> {
    return (await this.pool.query('DELETE FROM dedup WHERE seen_at < $1', [olderThan])).rowCount ?? 0;
  }

  async listEvents(f: EventFilter): Promise<StoredEventWithIdent[]> {
    const { sql, params } = eventListQuery(f);
    return (await this.pool.query<EventRow>(sql, params)).rows.map(toStoredEvent);
  }

  async countEvents(): Promise<number> {
    return (await this.pool.query<{ n: number }>('SELECT count(*) AS n FROM events')).rows[0]!.n;
  }

  async listFailedEvents(f: FailedEventFilter): Promise<StoredFailedEvent[]> {
    const w = conditions();
    if (f.sourceId !== undefined) w.add('source_id', '=', f.sourceId);
    if (f.reason !== undefined) w.add('reason', '=', f.reason);
    if (f.beforeId !== undefined) w.add('id', '<', f.beforeId);
    const sql = `SELECT * FROM failed_events ${w.where} ORDER BY id DESC LIMIT $${w.param(f.limit)}`;
    return (await this.pool.query<FailedRow>(sql, w.params)).rows.map(toFailed);
  }

  async commandResult(requestId: string): Promise<unknown> {
    const row = (await this.pool.query<{ result: string }>('SELECT result FROM command_results WHERE request_id = $1', [requestId]))
      .rows[0];
    return row === undefined ? null : (JSON.parse(row.result) as unknown);
  }

  async getProfile(id: string): Promise<StoredProfile | null> {
    return (await identity.profilesById(this.pool, [id]))[0] ?? null;
  }

  async profileHolding(key: string): Promise<StoredProfile | null> {
    return (await identity.profilesHolding(this.pool, [key]))[0] ?? null;
  }

  async searchProfileIds(search: ProfileSearch): Promise<string[]> {
    return identity.searchProfileIds(this.pool, search);
  }

  async countProfiles(): Promise<number> {
    return identity.countProfiles(this.pool);
  }

  async profileEvents(profileId: string, o: { beforeSeq?: number; afterSeq?: number; limit: number }): Promise<StoredEventWithIdent[]> {
    const ascending = o.afterSeq !== undefined;
    const rows = await this.pool.query<EventRow>(
      `SELECT * FROM events WHERE ident IN (SELECT key FROM identities WHERE profile_id = $1) AND seq < $2 AND seq > $3
       ORDER BY seq ${ascending ? 'ASC' : 'DESC'} LIMIT $4`,
      [profileId, o.beforeSeq ?? Number.MAX_SAFE_INTEGER, o.afterSeq ?? 0, o.limit],
    );
    return rows.rows.map(toStoredEvent);
  }

  async mergeLog(profileIds: readonly string[], limit: number): Promise<StoredMergeLogEntry[]> {
    return identity.mergeLog(this.pool, profileIds, limit);
  }

  async listIdentityWarnings(filter: { profileId?: string; beforeId?: number; limit: number }): Promise<StoredIdentityWarning[]> {
    return identity.listWarnings(this.pool, filter);
  }

  async getAccount(id: string): Promise<StoredAccount | null> {
    return (await identity.accounts(this.pool, [id]))[0] ?? null;
  }

  async accountMembers(
    accountId: string,
    o: { afterProfileId?: string; limit: number },
  ): Promise<Array<{ profileId: string; since: number }>> {
    return identity.accountMembers(this.pool, accountId, o);
  }

  async accountsOf(profileId: string): Promise<string[]> {
    return identity.accountsOf(this.pool, profileId);
  }

  async listTraitCatalogue(): Promise<TraitCatalogueEntry[]> {
    return identity.listCatalogue(this.pool);
  }

  async updateTraitCatalogue(
    name: string,
    patch: Partial<Pick<TraitCatalogueEntry, 'category' | 'pii'>>,
  ): Promise<TraitCatalogueEntry | null> {
    return identity.updateCatalogue(this.pool, name, patch);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/** A WHERE clause built term by term, with PostgreSQL's numbered parameters. */
function conditions() {
  const terms: string[] = [];
  const params: unknown[] = [];
  const param = (v: unknown): number => params.push(v);
  return {
    params,
    param,
    add: (column: string, op: string, v: unknown) => void terms.push(`${column} ${op} $${param(v)}`),
    term: (sql: string) => void terms.push(sql),
    get where() {
      return terms.length ? `WHERE ${terms.join(' AND ')}` : '';
    },
  };
}

/** The query `listEvents` runs for a filter (exported for the test of its plan). */
export function eventListQuery(f: EventFilter): { sql: string; params: unknown[] } {
  const w = conditions();
  if (f.sourceId !== undefined) w.add('source_id', '=', f.sourceId);
  if (f.type !== undefined) w.add('type', '=', f.type);
  if (f.name !== undefined) w.add('name', '=', f.name);
  if (f.userId !== undefined) {
    // Through two indexes, not a scan: events attributed to the user id, and the few others (migration 5).
    const [ident, user] = [w.param(`user_id:${f.userId}`), w.param(f.userId)];
    w.term(`((ident = $${ident} AND user_id = $${user}) OR (user_id = $${user} AND ident IS DISTINCT FROM ('user_id:' || user_id)))`);
  }
  if (f.anonymousId !== undefined) w.add('anonymous_id', '=', f.anonymousId);
  if (f.from !== undefined) w.add('ts', '>=', f.from);
  if (f.to !== undefined) w.add('ts', '<', f.to);
  if (f.beforeSeq !== undefined) w.add('seq', '<', f.beforeSeq);
  if (f.afterSeq !== undefined) w.add('seq', '>', f.afterSeq);
  const order = f.afterSeq !== undefined ? 'ASC' : 'DESC';
  return { sql: `SELECT * FROM events ${w.where} ORDER BY seq ${order} LIMIT $${w.param(f.limit)}`, params: w.params };
}
