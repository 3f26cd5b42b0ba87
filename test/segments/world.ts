/**
 * A real Tessera pipeline for segment tests, driven by an injected clock: messages go through the
 * durable log and the processor (identity resolution included) into a real store, and the audience
 * runner follows them. Nothing sleeps: `advanceTo` moves the clock from one due timer to the next, as
 * the runner's own timer would, so time-driven changes happen exactly at their due instant.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { DEFAULT_RULES } from '../../src/core/identity/rules.ts';
import { SqliteEventLog } from '../../src/log/sqlite/sqlite-log.ts';
import { Processor } from '../../src/processor/processor.ts';
import { AudienceRunner, type RunnerLimits } from '../../src/segments/audience-runner.ts';
import { SegmentService } from '../../src/segments/segment-service.ts';
import { openSegmentStore } from '../../src/storage/segments/open-segment-store.ts';
import type { SegmentStore } from '../../src/storage/segments/segment-store.ts';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { tempDir } from '../support/harness.ts';

export const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export type Backend = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

export function sqliteBackend(): Backend {
  return { kind: 'sqlite', file: path.join(tempDir('tessera-segments-'), 'store.sqlite') };
}

export interface WorldOptions {
  backend?: Backend;
  /** Keep using this directory (and its durable log) across a restart. */
  dir?: string;
  now?: number;
  limits?: Partial<RunnerLimits>;
}

let messageCounter = 0;

export class World {
  private constructor(
    /** The injected clock, shared with the processor and the runner. */
    private readonly clock: { now: number },
    readonly backend: Backend,
    readonly dir: string,
    readonly store: Store,
    readonly segmentStore: SegmentStore,
    readonly log: SqliteEventLog,
    readonly processor: Processor,
    readonly runner: AudienceRunner,
    readonly segments: SegmentService,
    private readonly hooks: ReadHooks,
  ) {}

  /**
   * Run `hook` once, between the read and the write of the runner's next real-time step (or, with
   * `backfill`, of its next backfill chunk; with `reload`, of its next reload of the definitions), as if the
   * processor, another runner, an API call or an erasure committed
   * at that moment. The hook must not call the runner itself.
   */
  betweenReadAndWrite(hook: () => Promise<void>, which: ReadHooks['which'] = 'realtime'): void {
    this.hooks.afterRead = hook;
    this.hooks.which = which;
  }

  get now(): number {
    return this.clock.now;
  }

  set now(t: number) {
    this.clock.now = t;
  }

  static async open(options: WorldOptions = {}): Promise<World> {
    const backend = options.backend ?? sqliteBackend();
    const dir = options.dir ?? tempDir('tessera-segments-log-');
    const store: Store = backend.kind === 'sqlite' ? new SqliteStore(backend.file) : new PostgresStore(backend.url);
    await store.migrate();
    const segmentStore = await openSegmentStore(store);
    await segmentStore.migrate();
    const log = new SqliteEventLog(path.join(dir, 'log.sqlite'));
    const time = { now: options.now ?? T0 };
    const clock = () => time.now;
    const processor = new Processor({
      log,
      store,
      limits: { maxMessageBytes: 32_768, maxDepth: 32 },
      dedupWindowMs: DAY,
      identity: { rules: DEFAULT_RULES, defaultRegion: 'US' },
      now: clock,
      report: () => {},
      onError: (err) => {
        throw err;
      },
    });
    await processor.init();
    const hooks: ReadHooks = { afterRead: null, which: 'realtime' };
    const runner = new AudienceRunner({ store: withReadHook(segmentStore, hooks), now: clock, limits: options.limits });
    let ids = 0;
    const segments = new SegmentService(segmentStore, { now: clock, newId: () => `seg-${++ids}` });
    return new World(time, backend, dir, store, segmentStore, log, processor, runner, segments, hooks);
  }

  /** Messages arrive now: through the log and the processor, then the runner catches up. */
  async send(...messages: Array<Record<string, unknown>>): Promise<void> {
    await this.deliver(...messages);
    await this.runner.runUntilIdle();
  }

  /** Messages arrive now, through the log and the processor only (the runner is not run). */
  async deliver(...messages: Array<Record<string, unknown>>): Promise<void> {
    await this.log.append({
      sourceId: 'src-test',
      receivedAt: this.now,
      typeHint: null,
      shape: 'batch',
      body: JSON.stringify({ batch: messages.map((m) => ({ messageId: `msg-${++messageCounter}`, ...m })) }),
      messages: messages.length,
    });
    while ((await this.processor.runOnce()) > 0);
  }

  track(userId: string, event: string, at: number, properties: Record<string, unknown> = {}): Promise<void> {
    return this.send({ type: 'track', userId, event, properties, timestamp: new Date(at).toISOString() });
  }

  identify(userId: string, traits: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<void> {
    return this.send({ type: 'identify', userId, traits, timestamp: new Date(this.now).toISOString(), ...extra });
  }

  /** Move the clock to `t`, stopping at every due timer on the way (as the runner's setTimeout would). */
  async advanceTo(t: number): Promise<void> {
    assert.ok(t >= this.now, 'time only moves forward');
    for (;;) {
      const due = await this.runner.nextDueAt();
      if (due === null || due > t) break;
      this.now = Math.max(this.now, due);
      await this.runner.runUntilIdle();
    }
    this.now = t;
    await this.runner.runUntilIdle();
  }

  async createSegment(id: string, query: string): Promise<void> {
    await this.segments.create({ id, name: id, query });
    await this.runner.runUntilIdle();
    assert.equal((await this.segments.get(id)).status, 'live');
  }

  async profileOf(userId: string): Promise<string> {
    const id = (await this.store.profileHolding(`user_id:${userId}`))?.snapshot.id;
    assert.ok(id, `no profile for ${userId}`);
    return id;
  }

  async members(segmentId: string): Promise<string[]> {
    return (await this.segmentStore.members(segmentId, { limit: 10_000 })).map((m) => m.profileId);
  }

  async isMember(segmentId: string, userId: string): Promise<boolean> {
    return (await this.members(segmentId)).includes(await this.profileOf(userId));
  }

  /** The feed as `entered seg at <offset>` lines for one user's profile (or every profile). */
  async feed(format: (t: number) => string, profileId?: string): Promise<string[]> {
    const { items } = await this.segments.audienceEvents({ after: 0, limit: 1000 });
    return items
      .filter((e) => profileId === undefined || e.profileId === profileId)
      .map((e) => `${e.event === 'Audience Entered' ? 'entered' : 'exited'} ${e.segmentId} at ${format(Date.parse(e.at))}`);
  }

  /**
   * What an erasure commits for one profile, as far as the runner can see: its events, identities and
   * profile row, and every row the segment tables hold for it (`privacy-erasure.ts` does this and more).
   */
  async eraseProfile(profileId: string): Promise<void> {
    const statements: Array<[string, string[]]> = [
      ['DELETE FROM events WHERE ident IN (SELECT key FROM identities WHERE profile_id = ?)', [profileId]],
      ['DELETE FROM identities WHERE profile_id = ?', [profileId]],
      ['DELETE FROM profiles WHERE id = ?', [profileId]],
      ...['segment_memberships', 'audience_events', 'audience_timers', 'computed_values', 'audience_profiles'].map(
        (table): [string, string[]] => [`DELETE FROM ${table} WHERE profile_id = ?`, [profileId]],
      ),
    ];
    for (const [sql, params] of statements) await this.sql(sql, params);
  }

  /** Run one statement on the store's database, as a tool or another process would (`?` placeholders). */
  async sql<T = Record<string, unknown>>(statement: string, params: unknown[] = []): Promise<T[]> {
    if (this.store instanceof SqliteStore) {
      const stmt = this.store.db.prepare(statement);
      return stmt.reader ? (stmt.all(...params) as T[]) : (stmt.run(...params), []);
    }
    if (this.store instanceof PostgresStore) {
      let i = 0;
      return (
        await this.store.pool.query(
          statement.replace(/\?/g, () => `$${++i}`),
          params,
        )
      ).rows as T[];
    }
    throw new Error('unknown store');
  }

  /** Close everything (as a shutdown would), keeping the data. */
  async close(): Promise<void> {
    await this.runner.stop();
    await this.log.close();
    await this.segmentStore.close();
    await this.store.close();
  }
}

interface ReadHooks {
  afterRead: (() => Promise<void>) | null;
  /** Which read: a real-time step's (cached), a backfill chunk's (`cached: false`) or a reload's (it reads the definitions version). */
  which: 'realtime' | 'backfill' | 'reload';
}

/** The same store, whose leases run `hooks.afterRead` (once) after a read and before the caller goes on. */
function withReadHook(store: SegmentStore, hooks: ReadHooks): SegmentStore {
  const hooked = Object.create(store) as SegmentStore;
  hooked.acquireLease = async () => {
    const lease = await store.acquireLease();
    if (lease === null) return null;
    return {
      ...lease,
      read: async (work, options) => {
        let which: ReadHooks['which'] = options?.cached === false ? 'backfill' : 'realtime';
        const result = await lease.read(
          (view) =>
            work(
              new Proxy(view, {
                get(target, key) {
                  if (key === 'definitionsVersion') which = 'reload';
                  const value: unknown = Reflect.get(target, key, target);
                  return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
                },
              }),
            ),
          options,
        );
        const hook = hooks.which === which ? hooks.afterRead : null;
        if (hook) {
          hooks.afterRead = null;
          await hook();
        }
        return result;
      },
    };
  };
  return hooked;
}

/** `T0+1d12h`: an instant as an offset from the scenario's start. */
export function at(t: number): string {
  const d = Math.abs(t - T0);
  const parts = [
    [Math.floor(d / DAY), 'd'],
    [Math.floor((d % DAY) / HOUR), 'h'],
    [Math.floor((d % HOUR) / MINUTE), 'm'],
    [Math.floor((d % MINUTE) / 1000), 's'],
  ].filter(([n]) => n !== 0);
  return `T0${t < T0 ? '-' : '+'}${parts.map(([n, u]) => `${n}${u}`).join('') || '0'}`;
}
