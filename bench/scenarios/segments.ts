/**
 * Issue 4's batch figures: the backfill of a new segment and the preview of a simple rule over a large
 * store, beside the same-run limit — an indexed SQL query for "≥ 3 Order Completed in 30 days" over the
 * same events, in a table keyed for it (name, ts, profile_id). This file: what both backends share, and
 * SQLite; `segments-postgres.ts`: PostgreSQL.
 *
 * The store is seeded directly with SQL (profiles, identities, events as the processor writes them):
 * sending millions of events through HTTP would measure ingestion, not segments. It is seeded once per
 * backend; every run (the warm-up too) measures on a fresh copy of it (SQLite: a copy of the file), its
 * audience runner's event cursor set past the seeded history, as for a runner that had followed it.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AudienceRunner } from '../../src/segments/audience-runner.ts';
import { SegmentService } from '../../src/segments/segment-service.ts';
import type { SegmentStore } from '../../src/storage/segments/segment-store.ts';
import { SqliteSegmentStore } from '../../src/storage/segments/sqlite/sqlite-segment-store.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';

export const DAY = 86_400_000;
export const NAMES = ['Order Completed', 'Product Viewed', 'Product Added', 'Checkout Started', 'Page Viewed'];
export const SIMPLE_RULE = "event('Order Completed').within(30 days).count() >= 3";

export interface SegmentBatchFigures {
  profiles: number;
  events: number;
  seedSeconds: number;
  /** The indexed-SQL limit: ≥ 3 Order Completed in 30 days over a covering index. */
  limitSeconds: number;
  limitMembers: number;
  previewSeconds: number;
  previewMembers: number;
  /** The same preview through the per-profile evaluator (only when small enough to finish quickly). */
  scanPreviewSeconds: number | null;
  backfillSeconds: number;
  backfillMembers: number;
}

/** A deterministic pseudo-random stream (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seed `profiles` people with `eventsPerProfile` events each over 60 days before `now`. */
function seed(file: string, profiles: number, eventsPerProfile: number, now: number): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const rnd = random(4);
  const profile = db.prepare(
    'INSERT INTO profiles (id, first_seen, merge_count, absorbed, traits, created_at, updated_at) VALUES (?, ?, 0, ?, ?, ?, ?)',
  );
  const identity = db.prepare(
    'INSERT INTO identities (key, type, value, profile_id, first_seen, fact_seq, event_message_id, source_id) VALUES (?, ?, ?, ?, ?, 0, ?, ?)',
  );
  const event = db.prepare(
    `INSERT INTO events (source_id, message_id, type, name, user_id, anonymous_id, ts, received_at, payload, ident, restricted)
     VALUES ('bench', ?, 'track', ?, ?, NULL, ?, ?, ?, ?, 0)`,
  );
  const chunk = db.transaction((from: number, to: number) => {
    for (let p = from; p < to; p++) {
      const id = `p-${String(p).padStart(8, '0')}`;
      const user = `user-${p}`;
      const key = `user_id:${user}`;
      const plan = rnd() < 0.2 ? 'pro' : 'free';
      const traits = JSON.stringify({ plan: { value: plan, at: now - 90 * DAY, sourceId: 'bench', messageId: `i-${p}` } });
      profile.run(id, now - 90 * DAY, '[]', traits, now - 90 * DAY, now - 90 * DAY);
      identity.run(key, 'user_id', user, id, now - 90 * DAY, `i-${p}`, 'bench');
      // A fifth of the people buy often: they are the segment's members.
      const buyer = rnd() < 0.2;
      for (let e = 0; e < eventsPerProfile; e++) {
        const name = buyer && rnd() < 0.5 ? 'Order Completed' : (NAMES[Math.floor(rnd() * NAMES.length)] as string);
        const ts = now - Math.floor(rnd() * 60 * DAY);
        const messageId = `m-${p}-${e}`;
        const payload = JSON.stringify({
          type: 'track',
          event: name,
          userId: user,
          messageId,
          timestamp: new Date(ts).toISOString(),
          properties: { total: Math.floor(rnd() * 200), currency: 'EUR', sku: `sku-${Math.floor(rnd() * 500)}` },
          context: { library: { name: 'analytics.js', version: '2.11.1' }, page: { path: '/checkout' } },
        });
        event.run(messageId, name, user, ts, ts, payload, key);
      }
    }
  });
  for (let from = 0; from < profiles; from += 5000) chunk(from, Math.min(profiles, from + 5000));
  // The limit's table: the same (name, ts, profile) triples with a covering index.
  db.exec(`CREATE TABLE limit_events (name TEXT, ts INTEGER, profile_id TEXT);
    INSERT INTO limit_events SELECT e.name, e.ts, i.profile_id FROM events e JOIN identities i ON i.key = e.ident;
    CREATE INDEX limit_by_name_ts ON limit_events (name, ts, profile_id);
    ANALYZE;`);
  db.close();
}

export function seconds(t0: number): number {
  return (performance.now() - t0) / 1000;
}

/** The measured part, the same on both backends: preview, the per-profile preview (optional), then the backfill. */
export async function measureSegment(
  segments: SegmentStore,
  now: number,
  scanPreview: boolean,
): Promise<Pick<SegmentBatchFigures, 'previewSeconds' | 'previewMembers' | 'scanPreviewSeconds' | 'backfillSeconds' | 'backfillMembers'>> {
  const service = new SegmentService(segments, { now: () => now, newId: () => 'bench-segment' });
  const p0 = performance.now();
  const preview = await service.preview({ query: SIMPLE_RULE });
  const previewSeconds = seconds(p0);
  if (preview.method !== 'sql') throw new Error(`the preview took the ${preview.method} path, not the SQL fast path`);
  let scanPreviewSeconds: number | null = null;
  if (scanPreview) {
    // The per-profile path, for contrast: a rule the fast path does not compile, reading the same events.
    const c0 = performance.now();
    await service.preview({ query: `${SIMPLE_RULE} AND event('Order Completed').last() > 0` });
    scanPreviewSeconds = seconds(c0);
  }
  const runner = new AudienceRunner({ store: segments, now: () => now });
  const b0 = performance.now();
  let backfillSeconds: number;
  try {
    await service.create({ id: 'bench-segment', name: 'buyers', query: SIMPLE_RULE });
    await runner.runUntilIdle();
    backfillSeconds = seconds(b0);
  } finally {
    await runner.stop(); // gives up the lease (on PostgreSQL a pooled connection the store's close waits for)
  }
  const status = await service.get('bench-segment');
  if (status.status !== 'live') throw new Error(`the backfill ended ${status.status}`);
  return { previewSeconds, previewMembers: preview.count, scanPreviewSeconds, backfillSeconds, backfillMembers: status.size };
}

/** Fewer or more members than the indexed-SQL limit counted means one of them is wrong: no figure then. */
export function checkMembers(f: SegmentBatchFigures): SegmentBatchFigures {
  if (f.previewMembers !== f.limitMembers || f.backfillMembers !== f.limitMembers)
    throw new Error(`members differ: limit ${f.limitMembers}, preview ${f.previewMembers}, backfill ${f.backfillMembers}`);
  return f;
}

/** A store seeded once: each `run` measures on a fresh copy of it. */
export interface SeededSegments {
  profiles: number;
  events: number;
  seedSeconds: number;
  run(opts: { scanPreview: boolean }): Promise<SegmentBatchFigures>;
  close(): Promise<void>;
}

const LIMIT_SQL = `SELECT count(*) AS n FROM (SELECT profile_id FROM limit_events WHERE name = 'Order Completed' AND ts > ? AND ts <= ?
  GROUP BY profile_id HAVING count(*) >= 3)`;

export async function seedSqliteSegments(opts: { profiles: number; eventsPerProfile: number }): Promise<SeededSegments> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-segments-'));
  const seeded = path.join(dir, 'seeded.sqlite');
  const now = Math.floor(Date.now() / 1000) * 1000;
  try {
    const store = new SqliteStore(seeded);
    await store.migrate();
    await new SqliteSegmentStore(store.db).migrate();
    await store.close();
    const s0 = performance.now();
    seed(seeded, opts.profiles, opts.eventsPerProfile, now);
    const seedSeconds = seconds(s0);
    const db = new Database(seeded, { readonly: true });
    const counts = db.prepare('SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM profiles) AS profiles').get() as {
      events: number;
      profiles: number;
    };
    db.close();
    let n = 0;
    return {
      ...counts,
      seedSeconds,
      async run({ scanPreview }) {
        // A fresh store for every run: a copy of the seeded file (closed, so no WAL beside it).
        const file = path.join(dir, `run-${++n}.sqlite`);
        fs.copyFileSync(seeded, file, fs.constants.COPYFILE_FICLONE);
        try {
          const limitDb = new Database(file, { readonly: true });
          const l0 = performance.now();
          const limit = limitDb.prepare(LIMIT_SQL).get(now - 30 * DAY, now) as { n: number };
          const limitSeconds = seconds(l0);
          limitDb.close();
          const opened = new SqliteStore(file);
          const segments = new SqliteSegmentStore(opened.db);
          try {
            opened.db.prepare("INSERT INTO audience_cursors (name, value) VALUES ('events', (SELECT max(seq) FROM events))").run();
            const measured = await measureSegment(segments, now, scanPreview);
            return checkMembers({ ...counts, seedSeconds, limitSeconds, limitMembers: limit.n, ...measured });
          } finally {
            await segments.close();
            await opened.close();
          }
        } finally {
          for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
        }
      },
      async close() {
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
