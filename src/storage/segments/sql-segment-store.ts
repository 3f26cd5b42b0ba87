/**
 * The segment store in SQL, shared by both backends. A backend supplies a connection (`SqlConn`), the
 * dialect, transactions and the runner's lease; everything else is here, written once.
 */
import type {
  AudienceEvent,
  AudienceRecordBase,
  AudienceLease,
  CompiledProfileQuery,
  ComputedTraitPatch,
  ComputedTraitRecord,
  Member,
  SegmentPatch,
  SegmentRecord,
  SegmentStore,
  HistoryFilter,
  StoredAudienceProfile,
} from './segment-store.ts';
import { DEFINITIONS_VERSION, SqlAudienceReader, type SqlConn, type SqlDialect } from './sql-audience-tx.ts';
import { toComputedTrait, toSegment, type ComputedTraitRow, type SegmentRow } from './segment-rows.ts';
import { SEGMENT_MIGRATIONS, type SegmentDdlTypes } from './segment-migrations.ts';

const json = (v: unknown) => JSON.stringify(v);

/** The two tables of definitions: same bookkeeping, different definitions. */
type DefinitionTable = 'segments' | 'computed_traits';

/** A definition edited at `at`: a changed one gets a new generation and computes again; otherwise it stays as it was. */
function afterEdit(current: AudienceRecordBase, changed: boolean, at: number): Partial<AudienceRecordBase> {
  if (!changed) return { updatedAt: at };
  return { generation: current.generation + 1, status: 'computing', progress: 0, error: null, liveAt: null, updatedAt: at };
}

export abstract class SqlSegmentStore implements SegmentStore {
  abstract readonly backend: 'sqlite' | 'postgres';
  protected abstract readonly conn: SqlConn;
  protected abstract readonly dialect: SqlDialect;
  protected abstract readonly ddl: SegmentDdlTypes;
  /** Run `work` in one transaction on one connection. */
  protected abstract transaction<T>(work: (c: SqlConn) => Promise<T>): Promise<T>;
  /** Serialise concurrent migrators (PostgreSQL); called inside the migration transaction. */
  protected abstract lockForMigration(c: SqlConn): Promise<void>;
  abstract acquireLease(): Promise<AudienceLease | null>;
  abstract close(): Promise<void>;

  private get reader() {
    return new SqlAudienceReader(this.conn, this.dialect);
  }

  /**
   * The connection for the fast path's set-based queries (`selectProfiles`, `selectHistories`): scans
   * and sorts over millions of events, which a backend may run better elsewhere (see SQLite's).
   */
  protected scanConn(): SqlConn {
    return this.conn;
  }

  private get scanner() {
    return new SqlAudienceReader(this.scanConn(), this.dialect);
  }

  async migrate(): Promise<void> {
    await this.transaction(async (c) => {
      await this.lockForMigration(c);
      await c.run(
        `CREATE TABLE IF NOT EXISTS segment_schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at ${this.ddl.int} NOT NULL)`,
      );
      const done = new Set((await c.all<{ id: number }>('SELECT id FROM segment_schema_migrations')).map((r) => r.id));
      for (const m of SEGMENT_MIGRATIONS) {
        if (done.has(m.id)) continue;
        const sql = m.sql(this.ddl);
        for (const statement of typeof sql === 'string' ? splitStatements(sql) : sql) await c.run(statement);
        await c.run('INSERT INTO segment_schema_migrations (id, name, applied_at) VALUES (?, ?, ?)', [m.id, m.name, Date.now()]);
      }
    });
  }

  // ---- definitions (written by the service; every change bumps the version the runner watches) ----

  private async bump(c: SqlConn): Promise<void> {
    await c.run(
      'INSERT INTO audience_cursors (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = audience_cursors.value + 1',
      [DEFINITIONS_VERSION],
    );
  }

  async definitionsVersion(): Promise<number> {
    return (
      (await this.conn.all<{ value: number }>('SELECT value FROM audience_cursors WHERE name = ?', [DEFINITIONS_VERSION]))[0]?.value ?? 0
    );
  }

  async createSegment(s: SegmentRecord): Promise<boolean> {
    return this.transaction(async (c) => {
      const n = await c.run(
        `INSERT INTO segments (id, name, description, query, rule, live_rule, generation, status, progress, error, deleted, created_at, updated_at, live_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
        [
          s.id,
          s.name,
          s.description,
          s.query,
          json(s.rule),
          s.liveRule === null ? null : json(s.liveRule),
          s.generation,
          s.status,
          s.progress,
          s.error,
          this.dialect.bool(s.deleted),
          s.createdAt,
          s.updatedAt,
          s.liveAt,
        ],
      );
      if (n > 0) await this.bump(c);
      return n > 0;
    });
  }

  async getSegment(id: string): Promise<SegmentRecord | null> {
    return (await this.definitionRows<SegmentRow>(this.conn, 'segments', id)).map(toSegment)[0] ?? null;
  }

  async listSegments(): Promise<SegmentRecord[]> {
    return (await this.definitionRows<SegmentRow>(this.conn, 'segments')).map(toSegment);
  }

  async updateSegment(id: string, patch: SegmentPatch, at: number): Promise<SegmentRecord | null> {
    return this.transaction(async (c) => {
      const [current] = (await this.definitionRows<SegmentRow>(c, 'segments', id)).map(toSegment);
      if (!current) return null;
      const ruleChanged = patch.rule !== undefined && json(patch.rule) !== json(current.rule);
      const next: SegmentRecord = { ...current, ...patch, ...afterEdit(current, ruleChanged, at) };
      await c.run(
        `UPDATE segments SET name = ?, description = ?, query = ?, rule = ?, generation = ?, status = ?, progress = ?, error = ?,
           updated_at = ?, live_at = ? WHERE id = ?`,
        [
          next.name,
          next.description,
          next.query,
          json(next.rule),
          next.generation,
          next.status,
          next.progress,
          next.error,
          next.updatedAt,
          next.liveAt,
          id,
        ],
      );
      if (ruleChanged) await this.bump(c);
      return next;
    });
  }

  deleteSegment(id: string, at: number): Promise<boolean> {
    return this.markDeleted('segments', id, at);
  }

  async createComputedTrait(t: ComputedTraitRecord): Promise<boolean> {
    return this.transaction(async (c) => {
      const n = await c.run(
        `INSERT INTO computed_traits (id, name, definition, live_definition, generation, status, progress, error, deleted, created_at, updated_at, live_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
        [
          t.id,
          t.name,
          json(t.definition),
          t.liveDefinition === null ? null : json(t.liveDefinition),
          t.generation,
          t.status,
          t.progress,
          t.error,
          this.dialect.bool(t.deleted),
          t.createdAt,
          t.updatedAt,
          t.liveAt,
        ],
      );
      if (n > 0) await this.bump(c);
      return n > 0;
    });
  }

  async getComputedTrait(id: string): Promise<ComputedTraitRecord | null> {
    return (await this.definitionRows<ComputedTraitRow>(this.conn, 'computed_traits', id)).map(toComputedTrait)[0] ?? null;
  }

  async listComputedTraits(): Promise<ComputedTraitRecord[]> {
    return (await this.definitionRows<ComputedTraitRow>(this.conn, 'computed_traits')).map(toComputedTrait);
  }

  async updateComputedTrait(id: string, patch: ComputedTraitPatch, at: number): Promise<ComputedTraitRecord | null> {
    return this.transaction(async (c) => {
      const [current] = (await this.definitionRows<ComputedTraitRow>(c, 'computed_traits', id)).map(toComputedTrait);
      if (!current) return null;
      const changed = patch.definition !== undefined && json(patch.definition) !== json(current.definition);
      const next: ComputedTraitRecord = { ...current, ...patch, ...afterEdit(current, changed, at) };
      await c.run(
        `UPDATE computed_traits SET name = ?, definition = ?, generation = ?, status = ?, progress = ?, error = ?, updated_at = ?, live_at = ?
         WHERE id = ?`,
        [next.name, json(next.definition), next.generation, next.status, next.progress, next.error, next.updatedAt, next.liveAt, id],
      );
      if (changed) await this.bump(c);
      return next;
    });
  }

  deleteComputedTrait(id: string, at: number): Promise<boolean> {
    return this.markDeleted('computed_traits', id, at);
  }

  /** The rows not deleted of a definitions table (one id, or all of them oldest first). */
  private definitionRows<Row>(c: SqlConn, table: DefinitionTable, id?: string): Promise<Row[]> {
    const live = this.dialect.bool(false);
    return id === undefined
      ? c.all<Row>(`SELECT * FROM ${table} WHERE deleted = ? ORDER BY created_at, id`, [live])
      : c.all<Row>(`SELECT * FROM ${table} WHERE id = ? AND deleted = ?`, [id, live]);
  }

  /** Mark a definition deleted (the runner removes its rows, then the record). */
  private markDeleted(table: DefinitionTable, id: string, at: number): Promise<boolean> {
    return this.transaction(async (c) => {
      const n = await c.run(`UPDATE ${table} SET deleted = ?, updated_at = ? WHERE id = ? AND deleted = ?`, [
        this.dialect.bool(true),
        at,
        id,
        this.dialect.bool(false),
      ]);
      if (n > 0) await this.bump(c);
      return n > 0;
    });
  }

  // ---- reads for the API ----

  async segmentSize(id: string): Promise<number> {
    return (await this.conn.all<{ size: number }>('SELECT size FROM segment_sizes WHERE segment_id = ?', [id]))[0]?.size ?? 0;
  }

  async members(segmentId: string, page: { afterProfileId?: string; limit: number }): Promise<Member[]> {
    const rows = await this.conn.all<{ profile_id: string; since: number }>(
      'SELECT profile_id, since FROM segment_memberships WHERE segment_id = ? AND profile_id > ? ORDER BY profile_id LIMIT ?',
      [segmentId, page.afterProfileId ?? '', page.limit],
    );
    return rows.map((r) => ({ profileId: r.profile_id, since: r.since }));
  }

  async sizeHistory(segmentId: string, page: { limit: number }): Promise<Array<{ at: number; size: number }>> {
    const rows = await this.conn.all<{ at: number; size: number }>(
      'SELECT at, size FROM segment_size_history WHERE segment_id = ? ORDER BY at DESC LIMIT ?',
      [segmentId, page.limit],
    );
    return rows.reverse();
  }

  async segmentsOf(profileId: string): Promise<string[]> {
    const rows = await this.conn.all<{ segment_id: string }>(
      `SELECT m.segment_id FROM segment_memberships m JOIN segments s ON s.id = m.segment_id
       WHERE m.profile_id = ? AND s.live_rule IS NOT NULL AND s.deleted = ? ORDER BY m.segment_id`,
      [profileId, this.dialect.bool(false)],
    );
    return rows.map((r) => r.segment_id);
  }

  async computedOf(profileId: string): Promise<Record<string, unknown>> {
    const rows = await this.conn.all<{ key: string; value: string }>(
      'SELECT key, value FROM computed_values WHERE profile_id = ? ORDER BY key',
      [profileId],
    );
    return Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value) as unknown]));
  }

  async runnerBacklog(cursor: string): Promise<{ events: number; oldestReceivedAt: number | null }> {
    // Two seeks by primary key: cheap enough for every scrape.
    const [row] = await this.conn.all<{ behind: number | string | null; oldest: number | string | null }>(
      `SELECT (SELECT max(seq) FROM events) - c.v AS behind,
              (SELECT received_at FROM events WHERE seq > c.v ORDER BY seq LIMIT 1) AS oldest
       FROM (SELECT coalesce((SELECT value FROM audience_cursors WHERE name = ?), 0) AS v) c`,
      [cursor],
    );
    return {
      events: Math.max(0, Number(row?.behind ?? 0)),
      oldestReceivedAt: row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest),
    };
  }

  async audienceEvents(page: { afterId: number; limit: number; segmentId?: string }): Promise<AudienceEvent[]> {
    const rows = await this.conn.all<{ id: number; segment_id: string; profile_id: string; kind: string; at: number; cause: string }>(
      page.segmentId === undefined
        ? 'SELECT * FROM audience_events WHERE id > ? ORDER BY id LIMIT ?'
        : 'SELECT * FROM audience_events WHERE segment_id = ? AND id > ? ORDER BY id LIMIT ?',
      page.segmentId === undefined ? [page.afterId, page.limit] : [page.segmentId, page.afterId, page.limit],
    );
    return rows.map((r) => ({
      id: r.id,
      segmentId: r.segment_id,
      profileId: r.profile_id,
      kind: r.kind as AudienceEvent['kind'],
      at: r.at,
      cause: r.cause,
    }));
  }

  profileIdsAfter(afterId: string, limit: number): Promise<string[]> {
    return this.reader.profileIdsAfter(afterId, limit);
  }

  countProfiles(): Promise<number> {
    return this.reader.countProfiles();
  }

  loadProfiles(ids: readonly string[], history?: HistoryFilter): Promise<Map<string, StoredAudienceProfile>> {
    return this.reader.loadProfiles(ids, history);
  }

  selectProfiles(query: CompiledProfileQuery): Promise<Array<{ profileId: string; unsure: boolean }>> {
    return this.scanner.selectProfiles(query);
  }

  selectHistories(query: CompiledProfileQuery, columns: number): Promise<Array<{ profileId: string; times: number[][] }>> {
    return this.scanner.selectHistories(query, columns);
  }

  latestPositions(): Promise<{ eventSeq: number; mergeId: number }> {
    return this.reader.latestPositions();
  }
}

/** Split DDL into statements (ours hold no semicolons inside literals), dropping `--` comment lines. */
function splitStatements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
