/**
 * Several processor workers (threads, each with its own durable log, as on separate nodes: a SQLite log
 * each, or a NATS JetStream stream each) share one PostgreSQL store and hammer overlapping identifiers. Afterwards: no identifier is in two profiles,
 * every person is exactly one profile (no merge lost), every event belongs to its person, and a full
 * rebuild from the facts gives the same profiles.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { parseConfig } from '../../src/config/config.ts';
import { DEFAULT_RULES } from '../../src/core/identity/rules.ts';
import type { LogBackend } from '../../src/config/config.ts';
import type { EventLog } from '../../src/log/event-log.ts';
import { NatsEventLog } from '../../src/log/nats/nats-log.ts';
import { SqliteEventLog } from '../../src/log/sqlite/sqlite-log.ts';
import { WorkerRunner } from '../../src/processor/processor-runner.ts';
import { rebuildProfiles } from '../../src/profiles/rebuild-profiles.ts';
import { migrateAll } from '../../src/storage/migrate-all.ts';
import { openStore } from '../../src/storage/open-store.ts';
import { openLogKeys } from '../../src/storage/privacy/log-key-data.ts';
import type { Store } from '../../src/storage/store.ts';
import { tempDir } from '../support/harness.ts';
import { natsTestStream, type NatsTestStream } from '../support/nats.ts';
import { postgresTestUrl } from '../support/postgres.ts';

const PEOPLE = 60;
const WORKERS = 3;

/** A small deterministic generator (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Each person: one user id, one e-mail, four anonymous ids, two devices; events that connect them all, shuffled. */
function traffic(rand: () => number): Array<Record<string, unknown>> {
  const events: Array<Record<string, unknown>> = [];
  let n = 0;
  const at = () => new Date(Date.UTC(2026, 10, 1) + Math.floor(rand() * 86_400_000)).toISOString();
  for (let p = 0; p < PEOPLE; p++) {
    const user = `user-${p}`;
    const anon = (k: number) => `anon-${p}-${k}`;
    const device = (k: number) => `device-${p}-${k}`;
    for (let k = 0; k < 4; k++) events.push({ type: 'identify', userId: user, anonymousId: anon(k), traits: { seen: k } });
    events.push({ type: 'identify', userId: user, traits: { email: `person${p}@example.com` } });
    for (let k = 0; k < 2; k++)
      events.push({ type: 'track', event: 'App Opened', anonymousId: anon(k), context: { device: { id: device(k) } } });
    for (let k = 0; k < 6; k++) events.push({ type: 'page', anonymousId: anon(Math.floor(rand() * 4)), name: 'Home' });
  }
  for (let i = events.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [events[i], events[j]] = [events[j]!, events[i]!];
  }
  return events.map((e) => ({ ...e, messageId: `m-${n++}`, timestamp: at() }));
}

describe('parallel processor workers on PostgreSQL', () => {
  it('keep every identifier in exactly one profile and lose no merge', async (t) => {
    const db = await postgresTestUrl();
    if (db === null) return t.skip('PostgreSQL not reachable');
    try {
      await hammerWithSqliteLogs(db);
    } finally {
      await db.drop();
    }
  });

  it('store each event once when every batch reaches two nodes (a retry sent elsewhere), their claims overlapping', async (t) => {
    const db = await postgresTestUrl();
    if (db === null) return t.skip('PostgreSQL not reachable');
    try {
      await hammerWithSqliteLogs(db, 2);
    } finally {
      await db.drop();
    }
  });

  it('keep every identifier in exactly one profile and lose no merge, each worker reading a NATS stream of its own', async (t) => {
    const db = await postgresTestUrl();
    if (db === null) return t.skip('PostgreSQL not reachable');
    const streams: NatsTestStream[] = [];
    try {
      for (let i = 0; i < WORKERS; i++) {
        const s = await natsTestStream();
        if (s === null) return t.skip('NATS is not reachable');
        streams.push(s);
      }
      await hammer(
        db,
        // The edges keep their keys in the shared store, where the workers find them.
        async (store) =>
          Promise.all(streams.map(async (s) => NatsEventLog.open(s.settings, { name: 'test-edge', keys: await openLogKeys(store) }))),
        streams.map((s) => ({ dataDir: tempDir('tessera-worker-'), log: s.settings })),
      );
    } finally {
      await Promise.all(streams.map((s) => s.drop()));
      await db.drop();
    }
  });
});

/** `hammer` with a SQLite log of its own for each worker, as on separate nodes. */
function hammerWithSqliteLogs(db: { url: string; drop: () => Promise<void> }, copies = 1): Promise<void> {
  const dirs = Array.from({ length: WORKERS }, () => tempDir('tessera-worker-'));
  const logs = dirs.map((d) => new SqliteEventLog(path.join(d, 'log.sqlite')));
  return hammer(
    db,
    async () => logs,
    dirs.map((d, i) => ({ dataDir: d, log: { kind: 'sqlite', file: path.join(d, 'log.sqlite') }, unsyncedFrom: logs[i]!.unsyncedFrom })),
    copies,
  );
}

/**
 * Deal the traffic to the workers' logs, run the workers on one store, and check the invariants. With
 * `copies` 2, every batch also goes to the next worker's log, as a client's retry sent to another node:
 * the workers then claim the same keys at the same time, and each event must still be stored once.
 */
async function hammer(
  db: { url: string; drop: () => Promise<void> },
  openLogs: (store: Store) => Promise<EventLog[]>,
  workers: Array<{ dataDir: string; log: LogBackend; unsyncedFrom?: SharedArrayBuffer }>,
  copies = 1,
): Promise<void> {
  const { url } = db;
  const config = parseConfig({ TESSERA_DATABASE_URL: url, TESSERA_DATA_DIR: workers[0]!.dataDir });
  const store = await openStore(config.storage);
  await migrateAll(store);
  const source = { id: 'src_parallel', name: 'p', writeKey: 'wk_parallel_0123456789', enabled: true, createdAt: Date.now() };
  await store.createSource(source);
  const logs = await openLogs(store);

  const events = traffic(random(42));
  // Batches of 10 dealt round-robin: the same person's identifiers reach every worker.
  const heads = new Array<number>(WORKERS).fill(0);
  for (let i = 0, b = 0; i < events.length; i += 10, b++) {
    const batch = events.slice(i, i + 10);
    for (let copy = 0; copy < copies; copy++) {
      const w = (b + copy) % WORKERS;
      heads[w] = await logs[w]!.append({
        sourceId: source.id,
        receivedAt: Date.now(),
        typeHint: null,
        shape: 'batch',
        body: JSON.stringify({ batch }),
        messages: batch.length,
      });
    }
  }
  const errors: Error[] = [];
  const runners = await Promise.all(
    workers.map((w) =>
      WorkerRunner.start(
        { config: { ...config, dataDir: w.dataDir, log: w.log }, unsyncedFrom: w.unsyncedFrom },
        () => {},
        (e) => errors.push(e),
      ),
    ),
  );
  runners.forEach((r) => r.notify());
  // Bounded: a worker that keeps failing must fail the test, not hang it.
  const deadline = Date.now() + 120_000;
  while (runners.some((r, i) => r.processedSeq < heads[i]!)) {
    if (Date.now() > deadline) assert.fail(`workers did not finish: ${errors.map((e) => e.message).join('; ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const r of runners) await r.stop({ drain: true, deadline: Date.now() + 5000 });
  await Promise.all(logs.map((l) => l.close()));
  assert.deepEqual(errors, [], 'no batch failed (a failure is retried, but none should happen)');

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const grouping = async () => {
      const rows = (await client.query<{ profile_id: string; value: string }>('SELECT profile_id, value FROM identities')).rows;
      const people = new Map<string, Set<string>>();
      for (const r of rows) {
        const person = /(\d+)/.exec(r.value.replace(/^(anon|device)-/, ''))![1]!;
        const set = people.get(r.profile_id) ?? new Set();
        set.add(person);
        people.set(r.profile_id, set);
      }
      return { rows, people };
    };
    const { rows, people } = await grouping();
    assert.equal(rows.length, PEOPLE * 8, 'every identifier is known once (identities are keyed by identifier)');
    assert.equal(people.size, PEOPLE, 'one profile per person: no duplicate profiles, no merge lost');
    for (const [profile, persons] of people) assert.equal(persons.size, 1, `profile ${profile} mixes people ${[...persons].join(', ')}`);
    const orphans = await client.query(
      `SELECT count(*)::int AS n FROM events e WHERE NOT EXISTS (SELECT 1 FROM identities i WHERE i.key = e.ident)`,
    );
    assert.equal(orphans.rows[0].n, 0, 'every event is attributed to an identifier some profile holds');
    const stored = await client.query('SELECT count(*)::int AS n FROM events');
    assert.equal(stored.rows[0].n, events.length, 'each event stored once, however many nodes it reached');
    const profiles = await client.query('SELECT count(*)::int AS n FROM profiles');
    assert.equal(profiles.rows[0].n, PEOPLE);

    const before = new Map(rows.map((r) => [r.value, r.profile_id]));
    await rebuildProfiles(store, DEFAULT_RULES, Date.now());
    const rebuilt = await grouping();
    assert.equal(rebuilt.people.size, PEOPLE);
    // Same partition (profile ids may differ only if first sightings differ; they are deterministic here).
    for (const r of rebuilt.rows) {
      const sameBefore = rows.filter((x) => before.get(x.value) === before.get(r.value)).map((x) => x.value);
      const sameAfter = rebuilt.rows.filter((x) => x.profile_id === r.profile_id).map((x) => x.value);
      assert.deepEqual(sameAfter.sort(), sameBefore.sort());
    }
  } finally {
    await client.end();
    await store.close();
  }
}
