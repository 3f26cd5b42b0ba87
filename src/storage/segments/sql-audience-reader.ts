/**
 * The runner's and the preview's reads of profiles in SQL, shared by both backends (see
 * `sql-audience-tx.ts` for the writes): a profile's traits, its history cut to what the definitions
 * read, its memberships, computed values and pending timers.
 */
import type { ProfileEvent } from '../../core/segments/index.ts';
import { materialiseTraits, traitsFromRecord, type TraitEntry } from '../../core/identity/traits.ts';
import type { AudienceStateCache, AudienceStateTracker } from './audience-state-cache.ts';
import type { CachedHistory, HistoryCache } from './history-cache.ts';
import type { AudienceReader, CompiledProfileQuery, HistoryFilter, RecentEvents, StoredAudienceProfile } from './segment-store.ts';

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
  /**
   * The list as a table of one column `v`, to drive a join from (one parameter). PostgreSQL plans
   * `= ANY(list)` against a large table as a scan of all of it, but a join from the list as index lookups.
   */
  listTable(values: readonly string[]): [sql: string, param: unknown];
  /** Pairs as a table of columns `v` (text) and `s` (integer), to drive a join from (one parameter). */
  pairTable(pairs: ReadonlyArray<readonly [string, number]>): [sql: string, param: unknown];
  bool(value: boolean): unknown;
  /**
   * Read a profile's events through a LATERAL subquery (kept apart by `OFFSET 0`): PostgreSQL then seeks
   * `(ident, seq)` with both bounds for each identifier; from a join it read every event of the
   * identifier and filtered on the seq afterwards. SQLite's planner seeks with both from the plain join
   * (and has no LATERAL).
   */
  lateral: boolean;
  /**
   * How the runner's tracked write transactions keep their own writes out of the `audience_writes`
   * counter (`audience-state-cache.ts`): statements run before the first write and at the end, within
   * the transaction (SQLite: a flag in the counter's row that its row triggers read, set and cleared
   * before anyone else can see it; none on PostgreSQL, whose runner transactions begin by setting what
   * its statement triggers read).
   */
  runnerWrites: { begin: string | null; end: string | null };
}

/**
 * A stored event as the engine sees it. Its payload is parsed only when a rule reads a property: most
 * conditions count events by name and time, and parsing every ~1 KB payload was the runner's largest cost.
 */
class StoredEvent implements ProfileEvent {
  private parsed: Record<string, unknown> | undefined;
  /**
   * Estimated size in memory, for the history cache's bound: the object and its name, plus, with a
   * payload, 1.25 times its length. Measured on the bench's events (~556 characters): 709 bytes an
   * event while its payload is text; less once a rule has read the properties (the payload goes, and the
   * properties are a part of it).
   */
  readonly bytes: number;
  constructor(
    readonly name: string | null,
    readonly type: string,
    readonly timestamp: number,
    private payload: string | null,
  ) {
    this.bytes = 96 + (name?.length ?? 0) + (payload === null ? 0 : Math.ceil(1.25 * payload.length));
  }

  get properties(): Record<string, unknown> {
    if (this.parsed === undefined) {
      const p = this.payload === null ? undefined : (JSON.parse(this.payload) as { properties?: unknown }).properties;
      this.parsed = typeof p === 'object' && p !== null && !Array.isArray(p) ? (p as Record<string, unknown>) : {};
      this.payload = null; // a cached history keeps the properties only
    }
    return this.parsed;
  }
}

const bytesOf = (events: readonly ProfileEvent[]): number => {
  let n = 0;
  for (const e of events) n += e instanceof StoredEvent ? e.bytes : 96;
  return n;
};

interface EventFilter {
  names: ReadonlySet<string> | null;
  withPayload: boolean;
}

/** What the runner keeps between steps (its real-time reads and its writes; see each cache's file). */
export interface RunnerCaches {
  /** `loadProfiles` keeps histories between calls. */
  histories?: HistoryCache;
  /** `loadProfiles` keeps memberships, computed values, timers and `known` between calls. */
  states?: AudienceStateCache;
  /** A write transaction tells the states what it changed. */
  tracker?: AudienceStateTracker;
}

export class SqlAudienceReader implements AudienceReader {
  private readonly histories: HistoryCache | undefined;
  private readonly states: AudienceStateCache | undefined;
  constructor(
    protected readonly c: SqlConn,
    protected readonly d: SqlDialect,
    caches: RunnerCaches = {},
  ) {
    this.histories = caches.histories;
    this.states = caches.states;
  }

  /** The `audience_writes` counter (see `audience-state-cache.ts`). */
  private async audienceWrites(): Promise<number> {
    return Number((await this.c.all<{ n: number | string }>('SELECT n FROM audience_writes WHERE id = 1'))[0]?.n ?? 0);
  }

  async profileIdsAfter(afterId: string, limit: number): Promise<string[]> {
    const rows = await this.c.all<{ id: string }>('SELECT id FROM profiles WHERE id > ? ORDER BY id LIMIT ?', [afterId, limit]);
    return rows.map((r) => r.id);
  }

  async countProfiles(): Promise<number> {
    return (await this.c.all<{ n: number }>('SELECT count(*) AS n FROM profiles'))[0]?.n ?? 0;
  }

  async loadProfiles(ids: readonly string[], history?: HistoryFilter, recent?: RecentEvents): Promise<Map<string, StoredAudienceProfile>> {
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
    // Every read is joined from the id list (see `SqlDialect.listTable`): index lookups per profile.
    const [ofProfiles, profileList] = this.d.listTable([...out.keys()]); // each id once: rows are not repeated
    const profiles = await this.c.all<{ id: string; traits: string }>(
      `SELECT p.id, p.traits FROM ${ofProfiles} ids JOIN profiles p ON p.id = ids.v`,
      [profileList],
    );
    for (const r of profiles) {
      const p = get(r.id);
      p.exists = true;
      p.traits = materialiseTraits(traitsFromRecord(JSON.parse(r.traits) as Record<string, TraitEntry>));
    }
    const names = history?.eventNames ?? null;
    if (names === null || names.size > 0) {
      const filter = { names, withPayload: history?.properties ?? true };
      const loaded = this.histories
        ? await this.cachedHistories([...out.keys()], filter, recent)
        : await this.readHistories([...out.keys()], filter);
      for (const [id, events] of loaded) get(id).events = events;
    }
    const states = this.states;
    let unheld = [...out.keys()];
    if (states !== undefined) {
      states.validFor(await this.audienceWrites());
      unheld = unheld.filter((id) => !states.fill(get(id)));
    }
    if (unheld.length === 0) return out;
    const [ofUnheld, unheldList] = this.d.listTable(unheld);
    const ofEach = <T>(columns: string, table: string) =>
      this.c.all<T & { profile_id: string }>(
        `SELECT t.profile_id, ${columns} FROM ${ofUnheld} ids JOIN ${table} t ON t.profile_id = ids.v`,
        [unheldList],
      );
    for (const r of await ofEach<{ segment_id: string; since: number }>('t.segment_id, t.since', 'segment_memberships'))
      get(r.profile_id).memberships.set(r.segment_id, Number(r.since));
    for (const r of await ofEach<{ key: string; value: string }>('t.key, t.value', 'computed_values'))
      get(r.profile_id).computed[r.key] = JSON.parse(r.value) as unknown;
    for (const r of await ofEach<{ target: string; due_at: number }>('t.target, t.due_at', 'audience_timers'))
      get(r.profile_id).timers.set(r.target, Number(r.due_at));
    for (const r of await ofEach<object>('1 AS one', 'audience_profiles')) get(r.profile_id).known = true;
    if (states !== undefined) for (const id of unheld) if (get(id).exists) states.hold(get(id));
    return out;
  }

  /** The matching, non-restricted events of these profiles, read in full (an empty list for one without any). */
  private async readHistories(ids: readonly string[], filter: EventFilter): Promise<Map<string, ProfileEvent[]>> {
    const out = new Map<string, ProfileEvent[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return out;
    for (const [id, events] of await this.historyRows(this.d.listTable(ids), '', filter)) out.set(id, events);
    return out;
  }

  /**
   * The matching, non-restricted events of the profiles listed by `from` (a table of `v`, the profile id,
   * and, when `seqCondition` reads it, `s`), grouped by profile.
   */
  private async historyRows(
    [from, fromParam]: [sql: string, param: unknown],
    seqCondition: string,
    filter: EventFilter,
    seqParams: readonly unknown[] = [],
  ): Promise<Map<string, ProfileEvent[]>> {
    const [inNames, nameList] = this.d.inList('e.name', filter.names === null ? [] : [...filter.names]);
    const columns = `e.type, e.name, e.ts${filter.withPayload ? ', e.payload' : ''}`;
    const where = `e.restricted = ?${filter.names === null ? '' : ` AND ${inNames}`}`;
    const rows = await this.c.all<{ profile_id: string; type: string; name: string | null; ts: number; payload?: string }>(
      this.d.lateral
        ? `SELECT i.profile_id, e.* FROM ${from} ids JOIN identities i ON i.profile_id = ids.v
           CROSS JOIN LATERAL (SELECT ${columns} FROM events e WHERE e.ident = i.key${seqCondition} AND ${where} OFFSET 0) e`
        : `SELECT i.profile_id, ${columns}
           FROM ${from} ids JOIN identities i ON i.profile_id = ids.v JOIN events e ON e.ident = i.key${seqCondition}
           WHERE ${where}`,
      [fromParam, ...seqParams, this.d.bool(false), ...(filter.names === null ? [] : [nameList])],
    );
    const out = new Map<string, ProfileEvent[]>();
    for (const r of rows) {
      let list = out.get(r.profile_id);
      if (!list) out.set(r.profile_id, (list = []));
      list.push(new StoredEvent(r.name, r.type, Number(r.ts), r.payload ?? null));
    }
    return out;
  }

  /**
   * As `readHistories`, through the cache (see `history-cache.ts` for when an entry is trusted). With
   * `recent`, histories end at `recent.upTo`: what a cached entry lacks after `recent.after` comes from
   * `recent.events`, and only the part before is read (all of it for a profile not cached, from the seq
   * of its entry for one cached before `after`: the runner's cursor is past it).
   */
  private async cachedHistories(ids: readonly string[], filter: EventFilter, recent?: RecentEvents): Promise<Map<string, ProfileEvent[]>> {
    const cache = this.histories as HistoryCache;
    const [state] = await this.c.all<{ removals: number | string; last: number | string | null }>(
      'SELECT (SELECT n FROM event_removals WHERE id = 1) AS removals, (SELECT max(seq) FROM events) AS last',
    );
    const lastSeq = Number(state?.last ?? 0);
    // Read from the table up to `bound`; the events in (bound, upTo] are `recent.events`.
    const bound = recent?.after ?? lastSeq;
    const upTo = recent?.upTo ?? lastSeq;
    const names = filter.names === null ? '*' : JSON.stringify([...filter.names].sort());
    cache.validFor(`${filter.withPayload ? 'p' : '-'}:${names}:${String(state?.removals)}`);
    const idents = await this.identsOf(ids);
    const bases = new Map<string, { entry: CachedHistory | undefined; events: ProfileEvent[]; bytes: number; from: number }>();
    const behind: Array<readonly [string, number]> = [];
    const missing: string[] = [];
    for (const id of ids) {
      const cached = cache.get(id);
      const entry = cached !== undefined && cached.idents === (idents.get(id)?.join('\u0000') ?? '') ? cached : undefined;
      if (entry === undefined) missing.push(id);
      else if (entry.lastSeq < bound) behind.push([id, entry.lastSeq]);
      bases.set(id, { entry, events: entry?.events ?? [], bytes: entry?.bytes ?? 0, from: Math.max(entry?.lastSeq ?? 0, bound) });
    }
    const read = [
      ...(behind.length > 0 ? await this.historyRows(this.d.pairTable(behind), ' AND e.seq > ids.s AND e.seq <= ?', filter, [bound]) : []),
      ...(missing.length > 0 ? await this.historyRows(this.d.listTable(missing), ' AND e.seq <= ?', filter, [bound]) : []),
    ];
    for (const [id, events] of read) {
      const base = bases.get(id)!;
      base.events = base.events.concat(events);
      base.bytes += bytesOf(events);
    }
    if (recent !== undefined) {
      const owner = new Map<string, string>();
      for (const [id, keys] of idents) for (const k of keys) owner.set(k, id);
      const fresh = new Map<string, StoredEvent[]>();
      for (const e of recent.events) {
        const id = e.ident === null ? undefined : owner.get(e.ident);
        if (id === undefined || e.restricted || (filter.names !== null && (e.name === null || !filter.names.has(e.name)))) continue;
        if (e.seq <= bases.get(id)!.from) continue;
        let list = fresh.get(id);
        if (list === undefined) fresh.set(id, (list = []));
        list.push(new StoredEvent(e.name, e.type, e.ts, filter.withPayload ? e.payload : null));
      }
      for (const [id, events] of fresh) {
        const base = bases.get(id)!;
        base.events = base.events.concat(events);
        base.bytes += bytesOf(events);
      }
    }
    const out = new Map<string, ProfileEvent[]>();
    for (const [id, base] of bases) {
      cache.set(id, {
        idents: idents.get(id)?.join('\u0000') ?? '',
        lastSeq: Math.max(base.entry?.lastSeq ?? 0, upTo),
        events: base.events,
        bytes: base.bytes,
      });
      out.set(id, base.events.slice());
    }
    return out;
  }

  /** Per profile, its identifier keys, sorted (none: absent). */
  private async identsOf(ids: readonly string[]): Promise<Map<string, string[]>> {
    const [ofProfiles, profileList] = this.d.listTable(ids);
    const rows = await this.c.all<{ profile_id: string; key: string }>(
      `SELECT i.profile_id, i.key FROM ${ofProfiles} ids JOIN identities i ON i.profile_id = ids.v`,
      [profileList],
    );
    const keys = new Map<string, string[]>();
    for (const r of rows) {
      const list = keys.get(r.profile_id);
      if (list === undefined) keys.set(r.profile_id, [r.key]);
      else list.push(r.key);
    }
    for (const list of keys.values()) list.sort();
    return keys;
  }

  async selectProfiles(query: CompiledProfileQuery): Promise<Array<{ profileId: string; unsure: boolean }>> {
    const rows = await this.c.all<{ profile_id: string; unsure?: number | boolean | null }>(query.sql, query.params);
    return rows.map((r) => ({ profileId: r.profile_id, unsure: r.unsure === 1 || r.unsure === true }));
  }

  async latestPositions(): Promise<{ eventSeq: number; mergeId: number }> {
    const rows = await this.c.all<{ e: number | string | null; m: number | string | null }>(
      'SELECT (SELECT max(seq) FROM events) AS e, (SELECT max(id) FROM merge_log) AS m',
    );
    return { eventSeq: Number(rows[0]?.e ?? 0), mergeId: Number(rows[0]?.m ?? 0) };
  }

  async selectHistories(query: CompiledProfileQuery, columns: number): Promise<Array<{ profileId: string; times: number[][] }>> {
    const rows = await this.c.all<Record<string, string | null>>(query.sql, query.params);
    const times = (list: string | null | undefined): number[] => (list == null || list === '' ? [] : list.split(',').map(Number));
    return rows.map((r) => ({
      profileId: r.profile_id as string,
      times: Array.from({ length: columns }, (_, i) => times(r[`h${i + 1}`])),
    }));
  }
}
