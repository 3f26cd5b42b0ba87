/**
 * The runner's reads and writes in SQL, shared by both backends: the SQL is written once with `?`
 * placeholders, and each backend's connection (`SqlConn`) binds it its own way and batches many rows
 * into one statement where round trips cost (PostgreSQL). Lists travel as one parameter (`inList`).
 */
import type { ProfileEvent, TimerRow, TimerTarget } from '../../core/segments/index.ts';
import { materialiseTraits, traitsFromRecord, type TraitEntry } from '../../core/identity/traits.ts';
import type {
  AudienceReader,
  AudienceTx,
  ComputedTraitRecord,
  FollowedEvent,
  CompiledProfileQuery,
  FollowedMerge,
  HistoryFilter,
  ProfileWrite,
  SegmentRecord,
  StoredAudienceProfile,
} from './segment-store.ts';
import { toComputedTrait, toSegment, type ComputedTraitRow, type SegmentRow } from './segment-rows.ts';

export type Column = readonly [name: string, type: 'text' | 'int'];

/** One connection (or the transaction open on it). */
export interface SqlConn {
  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Insert many rows of one shape (keys unique within `rows`), with an optional `ON CONFLICT …` clause. */
  insertRows(table: string, columns: readonly Column[], rows: readonly unknown[][], conflict?: string): Promise<void>;
  /** Delete the rows matching each key tuple. */
  deleteRows(table: string, keys: readonly Column[], rows: readonly unknown[][]): Promise<void>;
}

export interface SqlDialect {
  /** `column IN (…)` with the whole list as one parameter, and that parameter. */
  inList(column: string, values: readonly string[]): [sql: string, param: unknown];
  bool(value: boolean): unknown;
}

/** Size history is kept per bucket: the last size within each 5 minutes. */
export const SIZE_BUCKET_MS = 5 * 60_000;

export function targetOf(key: string): TimerTarget | null {
  const i = key.indexOf(':');
  const kind = key.slice(0, i);
  return kind === 'segment' || kind === 'trait' ? { kind, id: key.slice(i + 1) } : null;
}

/**
 * A stored event as the engine sees it. Its payload is parsed only when a rule reads a property: most
 * conditions count events by name and time, and parsing every ~1 KB payload was the runner's largest cost.
 */
class StoredEvent implements ProfileEvent {
  private parsed: Record<string, unknown> | undefined;
  constructor(
    readonly name: string | null,
    readonly type: string,
    readonly timestamp: number,
    private readonly payload: string | null,
  ) {}

  get properties(): Record<string, unknown> {
    if (this.parsed === undefined) {
      const p = this.payload === null ? undefined : (JSON.parse(this.payload) as { properties?: unknown }).properties;
      this.parsed = typeof p === 'object' && p !== null && !Array.isArray(p) ? (p as Record<string, unknown>) : {};
    }
    return this.parsed;
  }
}

export class SqlAudienceReader implements AudienceReader {
  constructor(
    protected readonly c: SqlConn,
    protected readonly d: SqlDialect,
  ) {}

  async profileIdsAfter(afterId: string, limit: number): Promise<string[]> {
    const rows = await this.c.all<{ id: string }>('SELECT id FROM profiles WHERE id > ? ORDER BY id LIMIT ?', [afterId, limit]);
    return rows.map((r) => r.id);
  }

  async countProfiles(): Promise<number> {
    return (await this.c.all<{ n: number }>('SELECT count(*) AS n FROM profiles'))[0]?.n ?? 0;
  }

  async loadProfiles(ids: readonly string[], history?: HistoryFilter): Promise<Map<string, StoredAudienceProfile>> {
    const out = new Map<string, StoredAudienceProfile>();
    if (ids.length === 0) return out;
    for (const id of ids)
      out.set(id, {
        profileId: id,
        exists: false,
        traits: {},
        events: [],
        memberships: new Map(),
        computed: {},
        timers: new Map(),
        known: false,
      });
    const get = (id: string) => out.get(id) as StoredAudienceProfile;
    const [inIds, list] = this.d.inList('id', ids);
    for (const r of await this.c.all<{ id: string; traits: string }>(`SELECT id, traits FROM profiles WHERE ${inIds}`, [list])) {
      const p = get(r.id);
      p.exists = true;
      p.traits = materialiseTraits(traitsFromRecord(JSON.parse(r.traits) as Record<string, TraitEntry>));
    }
    const [inProfiles] = this.d.inList('i.profile_id', ids);
    const names = history?.eventNames ?? null;
    const withPayload = history?.properties ?? true;
    const [inNames, nameList] = this.d.inList('e.name', names === null ? [] : [...names]);
    if (names === null || names.size > 0) {
      const events = await this.c.all<{ profile_id: string; type: string; name: string | null; ts: number; payload?: string }>(
        `SELECT i.profile_id, e.type, e.name, e.ts${withPayload ? ', e.payload' : ''} FROM identities i JOIN events e ON e.ident = i.key
         WHERE ${inProfiles} AND e.restricted = ?${names === null ? '' : ` AND ${inNames}`}`,
        names === null ? [list, this.d.bool(false)] : [list, this.d.bool(false), nameList],
      );
      for (const r of events) get(r.profile_id).events.push(new StoredEvent(r.name, r.type, r.ts, r.payload ?? null));
    }
    const [inMembers] = this.d.inList('profile_id', ids);
    const members = await this.c.all<{ segment_id: string; profile_id: string; since: number }>(
      `SELECT segment_id, profile_id, since FROM segment_memberships WHERE ${inMembers}`,
      [list],
    );
    for (const r of members) get(r.profile_id).memberships.set(r.segment_id, r.since);
    const values = await this.c.all<{ profile_id: string; key: string; value: string }>(
      `SELECT profile_id, key, value FROM computed_values WHERE ${inMembers}`,
      [list],
    );
    for (const r of values) get(r.profile_id).computed[r.key] = JSON.parse(r.value) as unknown;
    const timers = await this.c.all<{ profile_id: string; target: string; due_at: number }>(
      `SELECT profile_id, target, due_at FROM audience_timers WHERE ${inMembers}`,
      [list],
    );
    for (const r of timers) get(r.profile_id).timers.set(r.target, Number(r.due_at));
    for (const r of await this.c.all<{ profile_id: string }>(`SELECT profile_id FROM audience_profiles WHERE ${inMembers}`, [list])) {
      get(r.profile_id).known = true;
    }
    return out;
  }

  async selectProfiles(query: CompiledProfileQuery): Promise<Array<{ profileId: string; unsure: boolean }>> {
    const rows = await this.c.all<{ profile_id: string; unsure?: number | boolean | null }>(query.sql, query.params);
    return rows.map((r) => ({ profileId: r.profile_id, unsure: r.unsure === 1 || r.unsure === true }));
  }
}

export class SqlAudienceTx extends SqlAudienceReader implements AudienceTx {
  async cursor(name: string): Promise<number> {
    return (await this.c.all<{ value: number }>('SELECT value FROM audience_cursors WHERE name = ?', [name]))[0]?.value ?? 0;
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

  async eventsAfter(seq: number, limit: number): Promise<FollowedEvent[]> {
    const rows = await this.c.all<{
      seq: number;
      ident: string | null;
      type: string;
      name: string | null;
      restricted: number | boolean;
      payload: string | null;
    }>(
      `SELECT seq, ident, type, name, restricted, CASE WHEN type = 'identify' THEN payload END AS payload
       FROM events WHERE seq > ? ORDER BY seq LIMIT ?`,
      [seq, limit],
    );
    return rows.map((r) => ({
      seq: r.seq,
      ident: r.ident,
      type: r.type,
      name: r.name,
      restricted: r.restricted === true || r.restricted === 1,
      identifyPayload: r.payload,
    }));
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

  async takeDueTimers(now: number, limit: number): Promise<TimerRow[]> {
    const rows = await this.c.all<{ profile_id: string; target: string; due_at: number }>(
      'SELECT profile_id, target, due_at FROM audience_timers WHERE due_at <= ? ORDER BY due_at, profile_id, target LIMIT ?',
      [now, limit],
    );
    await this.c.deleteRows(
      'audience_timers',
      [
        ['profile_id', 'text'],
        ['target', 'text'],
      ],
      rows.map((r) => [r.profile_id, r.target]),
    );
    return rows.flatMap((r) => {
      const target = targetOf(r.target);
      return target ? [{ profileId: r.profile_id, target, dueAt: r.due_at }] : [];
    });
  }

  async apply(writes: readonly ProfileWrite[]): Promise<void> {
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
    await this.c.run('DELETE FROM segment_memberships WHERE segment_id = ?', [id]);
    await this.c.run('DELETE FROM audience_timers WHERE target = ?', [`segment:${id}`]);
    await this.c.run('DELETE FROM segment_sizes WHERE segment_id = ?', [id]);
    await this.c.run('DELETE FROM segment_size_history WHERE segment_id = ?', [id]);
    await this.c.run('DELETE FROM segments WHERE id = ?', [id]);
  }

  async purgeComputedTrait(id: string, dropKey: string | null): Promise<void> {
    await this.c.run('DELETE FROM audience_timers WHERE target = ?', [`trait:${id}`]);
    if (dropKey !== null) await this.dropComputedKey(dropKey);
    await this.c.run('DELETE FROM computed_traits WHERE id = ?', [id]);
  }

  async latestPositions(): Promise<{ eventSeq: number; mergeId: number }> {
    const rows = await this.c.all<{ e: number | string | null; m: number | string | null }>(
      'SELECT (SELECT max(seq) FROM events) AS e, (SELECT max(id) FROM merge_log) AS m',
    );
    return { eventSeq: Number(rows[0]?.e ?? 0), mergeId: Number(rows[0]?.m ?? 0) };
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

  async dropComputedKey(key: string): Promise<void> {
    await this.c.run('DELETE FROM computed_values WHERE key = ?', [key]);
  }
}

function tableOf(kind: 'segment' | 'trait'): string {
  return kind === 'segment' ? 'segments' : 'computed_traits';
}
