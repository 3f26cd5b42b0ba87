/**
 * The runner's writes (and the reads only its transactions make) in SQL, shared by both backends (the
 * profile reads are in `sql-audience-reader.ts`): the SQL is written once with `?`
 * placeholders, and each backend's connection (`SqlConn`) binds it its own way and batches many rows
 * into one statement where round trips cost (PostgreSQL). Lists travel as one parameter (`inList`).
 */
import { targetKey, type TimerRow, type TimerTarget } from '../../core/segments/index.ts';
import type {
  AudienceTx,
  ComputedTraitRecord,
  FollowedEvent,
  FollowedMerge,
  HistoryFilter,
  ProfileWrite,
  SegmentRecord,
} from './segment-store.ts';
import { toComputedTrait, toSegment, type ComputedTraitRow, type SegmentRow } from './segment-rows.ts';
import { AudienceStateTracker, type AudienceStateCache } from './audience-state-cache.ts';
import { SqlAudienceReader, type Column, type RunnerCaches, type SqlConn, type SqlDialect } from './sql-audience-reader.ts';

export { SqlAudienceReader, type Column, type RunnerCaches, type SqlConn, type SqlDialect } from './sql-audience-reader.ts';

/**
 * The runner's write transaction (`AudienceLease.run`), tracked: once it has committed, what it wrote is
 * applied to the kept profile states (`audience-state-cache.ts`); if it fails, they are all dropped.
 */
export async function runTracked<T>(
  states: AudienceStateCache,
  transaction: <R>(work: (c: SqlConn) => Promise<R>) => Promise<R>,
  dialect: SqlDialect,
  work: (tx: AudienceTx) => Promise<T>,
): Promise<T> {
  const tracker = new AudienceStateTracker(states);
  let result: T;
  try {
    result = await transaction(async (c) => {
      const tx = new SqlAudienceTx(c, dialect, { tracker });
      const done = await work(tx);
      await tx.finishTracked();
      return done;
    });
  } catch (err) {
    states.clear();
    throw err;
  }
  tracker.committed();
  return result;
}

/** The `audience_cursors` row every definition change bumps (the runner reloads when it moves). */
export const DEFINITIONS_VERSION = 'definitions';

/** Size history is kept per bucket: the last size within each 5 minutes. */
export const SIZE_BUCKET_MS = 5 * 60_000;

export function targetOf(key: string): TimerTarget | null {
  const i = key.indexOf(':');
  const kind = key.slice(0, i);
  return kind === 'segment' || kind === 'trait' ? { kind, id: key.slice(i + 1) } : null;
}

export class SqlAudienceTx extends SqlAudienceReader implements AudienceTx {
  private readonly tracker: AudienceStateTracker | undefined;

  constructor(c: SqlConn, d: SqlDialect, caches: RunnerCaches = {}) {
    super(c, d, caches);
    this.tracker = caches.tracker;
  }

  /** Before a tracked transaction's first write to the runner's tables: keep its writes out of the counter. */
  private async beforeWrite(): Promise<AudienceStateTracker | undefined> {
    const t = this.tracker;
    if (t === undefined || t.started) return t;
    if (this.d.runnerWrites.begin !== null) await this.c.run(this.d.runnerWrites.begin);
    t.started = true;
    return t;
  }

  /** At the end of a tracked transaction, before its commit. */
  async finishTracked(): Promise<void> {
    const end = this.d.runnerWrites.end;
    if (this.tracker?.started === true && end !== null) await this.c.run(end);
  }

  async cursor(name: string): Promise<number> {
    return (await this.c.all<{ value: number }>('SELECT value FROM audience_cursors WHERE name = ?', [name]))[0]?.value ?? 0;
  }

  definitionsVersion(): Promise<number> {
    return this.cursor(DEFINITIONS_VERSION);
  }

  async setCursor(name: string, value: number): Promise<void> {
    await this.c.run('INSERT INTO audience_cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [
      name,
      value,
    ]);
  }

  async job(): Promise<string | null> {
    return (await this.c.all<{ body: string }>("SELECT body FROM audience_jobs WHERE name = 'backfill'"))[0]?.body ?? null;
  }

  async setJob(body: string | null): Promise<void> {
    if (body === null) await this.c.run("DELETE FROM audience_jobs WHERE name = 'backfill'");
    else
      await this.c.run(
        "INSERT INTO audience_jobs (name, body) VALUES ('backfill', ?) ON CONFLICT (name) DO UPDATE SET body = excluded.body",
        [body],
      );
  }

  async eventsAfter(seq: number, limit: number, history?: HistoryFilter): Promise<FollowedEvent[]> {
    const reads = history !== undefined && history.properties !== false && history.eventNames?.size !== 0;
    const [inNames, nameList] = this.d.inList('name', history?.eventNames ? [...history.eventNames] : []);
    const withPayload = !reads ? "type = 'identify'" : history.eventNames === null ? '1 = 1' : `(type = 'identify' OR ${inNames})`;
    const rows = await this.c.all<{
      seq: number;
      ident: string | null;
      type: string;
      name: string | null;
      ts: number | string;
      restricted: number | boolean;
      payload: string | null;
    }>(
      `SELECT seq, ident, type, name, ts, restricted, CASE WHEN ${withPayload} THEN payload END AS payload
       FROM events WHERE seq > ? ORDER BY seq LIMIT ?`,
      reads && history.eventNames !== null ? [nameList, seq, limit] : [seq, limit],
    );
    return rows.map((r) => ({
      seq: Number(r.seq),
      ident: r.ident,
      type: r.type,
      name: r.name,
      ts: Number(r.ts),
      restricted: r.restricted === true || r.restricted === 1,
      payload: r.payload,
    }));
  }

  async eventsSpan(seq: number): Promise<{ count: number; last: number }> {
    const [row] = await this.c.all<{ n: number | string; last: number | string | null }>(
      'SELECT count(*) AS n, max(seq) AS last FROM events WHERE seq > ?',
      [seq],
    );
    return { count: Number(row?.n ?? 0), last: row?.last === null || row?.last === undefined ? seq : Number(row.last) };
  }

  async mergesAfter(id: number, limit: number): Promise<FollowedMerge[]> {
    const rows = await this.c.all<{ id: number; kind: string; profile_id: string; other_ids: string }>(
      'SELECT id, kind, profile_id, other_ids FROM merge_log WHERE id > ? ORDER BY id LIMIT ?',
      [id, limit],
    );
    return rows.map((r) => ({ id: r.id, kind: r.kind, profileId: r.profile_id, otherIds: JSON.parse(r.other_ids) as string[] }));
  }

  async profilesOfIdents(idents: readonly string[]): Promise<Map<string, string>> {
    if (idents.length === 0) return new Map();
    const [inKeys, list] = this.d.inList('key', idents);
    const rows = await this.c.all<{ key: string; profile_id: string }>(`SELECT key, profile_id FROM identities WHERE ${inKeys}`, [list]);
    return new Map(rows.map((r) => [r.key, r.profile_id]));
  }

  async dueTimers(now: number, limit: number): Promise<TimerRow[]> {
    const rows = await this.c.all<{ profile_id: string; target: string; due_at: number }>(
      'SELECT profile_id, target, due_at FROM audience_timers WHERE due_at <= ? ORDER BY due_at, profile_id, target LIMIT ?',
      [now, limit],
    );
    return rows.flatMap((r) => {
      const target = targetOf(r.target);
      return target ? [{ profileId: r.profile_id, target, dueAt: Number(r.due_at) }] : [];
    });
  }

  async removeTimers(timers: readonly TimerRow[]): Promise<void> {
    (await this.beforeWrite())?.record((states) => states.removeTimers(timers));
    await this.c.deleteRows(
      'audience_timers',
      [
        ['profile_id', 'text'],
        ['target', 'text'],
        ['due_at', 'int'],
      ],
      timers.map((t) => [t.profileId, targetKey(t.target), t.dueAt]),
    );
  }

  async existingProfiles(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const [ofIds, list] = this.d.listTable(ids);
    const rows = await this.c.all<{ id: string }>(`SELECT p.id FROM ${ofIds} ids JOIN profiles p ON p.id = ids.v`, [list]);
    return new Set(rows.map((r) => r.id));
  }

  async apply(writes: readonly ProfileWrite[]): Promise<void> {
    (await this.beforeWrite())?.record((states) => {
      for (const w of writes) states.applyWrite(w);
    });
    const entered: unknown[][] = [];
    const exited: unknown[][] = [];
    const feed: unknown[][] = [];
    const deltas = new Map<string, number>();
    const published = new Set<string>();
    const timersSet: unknown[][] = [];
    const timersCancelled: unknown[][] = [];
    const valuesSet: unknown[][] = [];
    const valuesDeleted: unknown[][] = [];
    const known: unknown[][] = [];
    for (const w of writes) {
      for (const e of w.entered) {
        entered.push([e.segmentId, w.profileId, e.at]);
        deltas.set(e.segmentId, (deltas.get(e.segmentId) ?? 0) + 1);
        if (w.publish.has(e.segmentId)) {
          feed.push([e.segmentId, w.profileId, 'entered', e.at, w.cause]);
          published.add(e.segmentId);
        }
      }
      for (const e of w.exited) {
        exited.push([e.segmentId, w.profileId]);
        deltas.set(e.segmentId, (deltas.get(e.segmentId) ?? 0) - 1);
        if (w.publish.has(e.segmentId)) {
          feed.push([e.segmentId, w.profileId, 'exited', e.at, w.cause]);
          published.add(e.segmentId);
        }
      }
      for (const t of w.timers) {
        if (t.dueAt === null) timersCancelled.push([w.profileId, t.target]);
        else timersSet.push([w.profileId, t.target, t.dueAt]);
      }
      for (const v of w.computedSet) valuesSet.push([w.profileId, v.key, JSON.stringify(v.value)]);
      for (const key of w.computedDeleted) valuesDeleted.push([w.profileId, key]);
      if (w.known) known.push([w.profileId]);
    }
    const pk: Column[] = [
      ['segment_id', 'text'],
      ['profile_id', 'text'],
    ];
    await this.c.deleteRows('segment_memberships', pk, exited);
    await this.c.insertRows('segment_memberships', [...pk, ['since', 'int']], entered, 'ON CONFLICT (segment_id, profile_id) DO NOTHING');
    await this.c.insertRows(
      'audience_events',
      [
        ['segment_id', 'text'],
        ['profile_id', 'text'],
        ['kind', 'text'],
        ['at', 'int'],
        ['cause', 'text'],
      ],
      feed,
    );
    await this.addSizes(deltas);
    const profileTarget: Column[] = [
      ['profile_id', 'text'],
      ['target', 'text'],
    ];
    await this.c.deleteRows('audience_timers', profileTarget, timersCancelled);
    await this.c.insertRows(
      'audience_timers',
      [...profileTarget, ['due_at', 'int']],
      timersSet,
      'ON CONFLICT (profile_id, target) DO UPDATE SET due_at = excluded.due_at',
    );
    const profileKey: Column[] = [
      ['profile_id', 'text'],
      ['key', 'text'],
    ];
    await this.c.deleteRows('computed_values', profileKey, valuesDeleted);
    await this.c.insertRows(
      'computed_values',
      [...profileKey, ['value', 'text']],
      valuesSet,
      'ON CONFLICT (profile_id, key) DO UPDATE SET value = excluded.value',
    );
    await this.c.insertRows('audience_profiles', [['profile_id', 'text']], known, 'ON CONFLICT (profile_id) DO NOTHING');
    const at = writes[0]?.at;
    if (at !== undefined && published.size > 0) await this.recordSizes([...published], at);
  }

  private async addSizes(deltas: ReadonlyMap<string, number>): Promise<void> {
    const rows = [...deltas].filter(([, d]) => d !== 0);
    await this.c.insertRows(
      'segment_sizes',
      [
        ['segment_id', 'text'],
        ['size', 'int'],
      ],
      rows,
      'ON CONFLICT (segment_id) DO UPDATE SET size = segment_sizes.size + excluded.size',
    );
  }

  async recordSizes(segmentIds: readonly string[], at: number): Promise<void> {
    if (segmentIds.length === 0) return;
    const bucket = Math.floor(at / SIZE_BUCKET_MS) * SIZE_BUCKET_MS;
    const [inIds, list] = this.d.inList('s.id', segmentIds);
    await this.c.run(
      `INSERT INTO segment_size_history (segment_id, at, size)
       SELECT s.id, ?, coalesce(z.size, 0) FROM segments s LEFT JOIN segment_sizes z ON z.segment_id = s.id WHERE ${inIds}
       ON CONFLICT (segment_id, at) DO UPDATE SET size = excluded.size`,
      [bucket, list],
    );
  }

  async dropProfile(profileId: string, at: number, publish: ReadonlySet<string>, cause: string): Promise<void> {
    (await this.beforeWrite())?.record((states) => states.drop(profileId));
    const rows = await this.c.all<{ segment_id: string }>('SELECT segment_id FROM segment_memberships WHERE profile_id = ?', [profileId]);
    await this.apply([
      {
        profileId,
        entered: [],
        exited: rows.map((r) => ({ segmentId: r.segment_id, at })),
        publish,
        cause,
        computedSet: [],
        computedDeleted: [],
        timers: [],
        known: false,
        at,
      },
    ]);
    await this.c.run('DELETE FROM audience_timers WHERE profile_id = ?', [profileId]);
    await this.c.run('DELETE FROM computed_values WHERE profile_id = ?', [profileId]);
    await this.c.run('DELETE FROM audience_profiles WHERE profile_id = ?', [profileId]);
  }

  async listSegments(): Promise<SegmentRecord[]> {
    return (await this.c.all<SegmentRow>('SELECT * FROM segments ORDER BY created_at, id')).map(toSegment);
  }

  async listComputedTraits(): Promise<ComputedTraitRecord[]> {
    return (await this.c.all<ComputedTraitRow>('SELECT * FROM computed_traits ORDER BY created_at, id')).map(toComputedTrait);
  }

  async setProgress(kind: 'segment' | 'trait', id: string, generation: number, progress: number): Promise<void> {
    await this.c.run(`UPDATE ${tableOf(kind)} SET progress = ? WHERE id = ? AND generation = ?`, [progress, id, generation]);
  }

  async goLive(kind: 'segment' | 'trait', id: string, generation: number, at: number): Promise<boolean> {
    const sql =
      kind === 'segment'
        ? `UPDATE segments SET status = 'live', progress = 1, error = NULL, live_rule = rule, live_at = ? WHERE id = ? AND generation = ? AND deleted = ?`
        : `UPDATE computed_traits SET status = 'live', progress = 1, error = NULL, live_definition = definition, live_at = ? WHERE id = ? AND generation = ? AND deleted = ?`;
    return (await this.c.run(sql, [at, id, generation, this.d.bool(false)])) === 1;
  }

  async fail(kind: 'segment' | 'trait', id: string, generation: number, error: string, at: number): Promise<void> {
    await this.c.run(`UPDATE ${tableOf(kind)} SET status = 'failed', error = ?, updated_at = ? WHERE id = ? AND generation = ?`, [
      error,
      at,
      id,
      generation,
    ]);
  }

  async purgeSegment(id: string): Promise<void> {
    (await this.beforeWrite())?.invalidate();
    await this.c.run('DELETE FROM segment_memberships WHERE segment_id = ?', [id]);
    await this.c.run('DELETE FROM audience_timers WHERE target = ?', [`segment:${id}`]);
    await this.c.run('DELETE FROM segment_sizes WHERE segment_id = ?', [id]);
    await this.c.run('DELETE FROM segment_size_history WHERE segment_id = ?', [id]);
    await this.c.run('DELETE FROM segments WHERE id = ?', [id]);
  }

  async purgeComputedTrait(id: string, dropKey: string | null): Promise<void> {
    (await this.beforeWrite())?.invalidate();
    await this.c.run('DELETE FROM audience_timers WHERE target = ?', [`trait:${id}`]);
    if (dropKey !== null) await this.dropComputedKey(dropKey);
    await this.c.run('DELETE FROM computed_traits WHERE id = ?', [id]);
  }

  async holdersOf(segmentIds: readonly string[], afterId: string, upToId: string | null): Promise<string[]> {
    if (segmentIds.length === 0) return [];
    const upper = upToId === null ? '' : ' AND profile_id <= ?';
    const bound = upToId === null ? [] : [upToId];
    const [inSegments, segments] = this.d.inList('segment_id', segmentIds);
    const [inTargets, targets] = this.d.inList(
      'target',
      segmentIds.map((id) => `segment:${id}`),
    );
    const rows = await this.c.all<{ profile_id: string }>(
      `SELECT profile_id FROM segment_memberships WHERE ${inSegments} AND profile_id > ?${upper}
       UNION SELECT profile_id FROM audience_timers WHERE ${inTargets} AND profile_id > ?${upper}`,
      [segments, afterId, ...bound, targets, afterId, ...bound],
    );
    return rows.map((r) => r.profile_id);
  }

  /** A scan of the table (no index by key: see segment migration 6); as rare as deleting a computed trait. */
  async dropComputedKey(key: string): Promise<void> {
    (await this.beforeWrite())?.invalidate();
    await this.c.run('DELETE FROM computed_values WHERE key = ?', [key]);
  }
}

function tableOf(kind: 'segment' | 'trait'): string {
  return kind === 'segment' ? 'segments' : 'computed_traits';
}
