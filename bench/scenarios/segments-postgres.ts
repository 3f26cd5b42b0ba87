/**
 * Issue 4's batch figures on PostgreSQL: the same scenario as `segments.ts` (same rule, same data shape,
 * same limit) on a fresh schema migrated by the real code (`PostgresStore` + `migrateAll`).
 *
 * The store is seeded with set-based SQL inside PostgreSQL (`INSERT … SELECT … FROM generate_series`):
 * profiles with a `plan` trait (a fifth `pro`), one `user_id` identity each, `eventsPerProfile` track
 * events per profile over 60 days (~400-byte payloads, a fifth of the people buying often), as the
 * processor writes them (the payload is the same text as on SQLite). Random draws come from `random()`
 * after `setseed`, so every run seeds the same data. The migrations' indexes stay in place during the
 * load, as on SQLite; then the tables are vacuumed and analysed, as autovacuum would have left a store
 * that had followed this history. Seeded once; before each run the tables the runs write to are
 * emptied and the runner's event cursor is set past the seeded history.
 */
import pg from 'pg';
import { migrateAll } from '../../src/storage/migrate-all.ts';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.ts';
import { openSegmentStore } from '../../src/storage/segments/open-segment-store.ts';
import { dropBenchSchema } from './postgres-url.ts';
import { checkMembers, DAY, measureSegment, NAMES, seconds, type SeededSegments } from './segments.ts';

/** The payload's constant tail, as `JSON.stringify` writes it on the SQLite side. */
const CONTEXT = '"context":{"library":{"name":"analytics.js","version":"2.11.1"},"page":{"path":"/checkout"}}';
const iso = (ms: string) => `to_char(to_timestamp(${ms} / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Seed `profiles` people with `eventsPerProfile` events each over 60 days before `now` (whole numbers, inlined). */
const seedSql = (now: number, profiles: number, eventsPerProfile: number) => [
  'SELECT setseed(0.4)',
  `CREATE UNLOGGED TABLE bench_people AS
     SELECT p, 'user-' || p AS user_id, CASE WHEN random() < 0.2 THEN 'pro' ELSE 'free' END AS plan, random() < 0.2 AS buyer
     FROM generate_series(0, ${profiles} - 1) AS p`,
  `INSERT INTO profiles (id, first_seen, merge_count, absorbed, traits, created_at, updated_at)
     SELECT 'p-' || lpad(p::text, 8, '0'), ${now}::bigint - ${90 * DAY}, 0, '[]',
       json_build_object('plan', json_build_object('value', plan, 'at', ${now}::bigint - ${90 * DAY}, 'sourceId', 'bench', 'messageId', 'i-' || p))::text,
       ${now}::bigint - ${90 * DAY}, ${now}::bigint - ${90 * DAY}
     FROM bench_people`,
  `INSERT INTO identities (key, type, value, profile_id, first_seen, fact_seq, event_message_id, source_id)
     SELECT 'user_id:' || user_id, 'user_id', user_id, 'p-' || lpad(p::text, 8, '0'), ${now}::bigint - ${90 * DAY}, 0, 'i-' || p, 'bench'
     FROM bench_people`,
  // OFFSET 0 keeps the draws in the subquery, one per row; the outer query reads them twice (name and payload).
  `INSERT INTO events (source_id, message_id, type, name, user_id, anonymous_id, ts, received_at, payload, ident, restricted)
     SELECT 'bench', message_id, 'track', name, user_id, NULL, ts, ts,
       format('{"type":"track","event":"%s","userId":"%s","messageId":"%s","timestamp":"%s","properties":{"total":%s,"currency":"EUR","sku":"sku-%s"},${CONTEXT}}',
         name, user_id, message_id, ${iso('ts')}, total, sku),
       'user_id:' || user_id, FALSE
     FROM (
       SELECT b.p, e, b.user_id, 'm-' || b.p || '-' || e AS message_id,
         CASE WHEN b.buyer AND random() < 0.5 THEN 'Order Completed' ELSE (ARRAY[${NAMES.map((n) => `'${n}'`).join(', ')}])[1 + floor(random() * ${NAMES.length})::int] END AS name,
         ${now}::bigint - floor(random() * ${60 * DAY})::bigint AS ts,
         floor(random() * 200)::int AS total, floor(random() * 500)::int AS sku
       FROM bench_people b CROSS JOIN LATERAL generate_series(0, ${eventsPerProfile} - 1) AS e
       OFFSET 0
     ) s`,
  'DROP TABLE bench_people',
];

/** The limit's table: the same (name, ts, profile) triples with a covering index. */
const LIMIT_SQL = [
  `CREATE TABLE limit_events AS SELECT e.name, e.ts, i.profile_id FROM events e JOIN identities i ON i.key = e.ident`,
  'CREATE INDEX limit_by_name_ts ON limit_events (name, ts, profile_id)',
];

const LIMIT_QUERY = `SELECT count(*) AS n FROM (SELECT profile_id FROM limit_events WHERE name = 'Order Completed' AND ts > $1 AND ts <= $2
  GROUP BY profile_id HAVING count(*) >= 3) m`;

/** Seed a fresh schema (`databaseUrl`, dropped by `close`); each run measures on it with the segment tables emptied. */
export async function seedPostgresSegments(opts: {
  databaseUrl: string;
  profiles: number;
  eventsPerProfile: number;
}): Promise<SeededSegments> {
  const now = Math.floor(Date.now() / 1000) * 1000;
  const client = new pg.Client({ connectionString: opts.databaseUrl });
  try {
    const store = new PostgresStore(opts.databaseUrl);
    await migrateAll(store).finally(() => store.close());
    await client.connect();
    // What the runs write to (segment tables, …): every table the migrations left empty. Emptied
    // (TRUNCATE: new files, as fresh as a new schema) before each run.
    const tables: string[] = [];
    for (const { name } of (
      await client.query<{ name: string }>('SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()')
    ).rows)
      if ((await client.query(`SELECT 1 FROM ${name} LIMIT 1`)).rowCount === 0) tables.push(name);
    const s0 = performance.now();
    for (const sql of seedSql(now, opts.profiles, opts.eventsPerProfile)) await client.query(sql);
    for (const sql of LIMIT_SQL) await client.query(sql);
    await client.query('VACUUM (ANALYZE) events, profiles, identities, limit_events');
    const seedSeconds = seconds(s0);
    const seeded = new Set(['events', 'profiles', 'identities']);
    const reset = `TRUNCATE ${tables.filter((t) => !seeded.has(t)).join(', ')} RESTART IDENTITY`;
    const counts = (
      await client.query<{ events: string; profiles: string }>(
        'SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM profiles) AS profiles',
      )
    ).rows[0]!;
    const sizes = { events: Number(counts.events), profiles: Number(counts.profiles) };
    return {
      ...sizes,
      seedSeconds,
      async run({ scanPreview }) {
        await client.query(reset);
        await client.query(
          "INSERT INTO audience_cursors (name, value) VALUES ('events', (SELECT max(seq) FROM events)) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        );
        const l0 = performance.now();
        const limit = await client.query<{ n: string }>(LIMIT_QUERY, [now - 30 * DAY, now]);
        const limitSeconds = seconds(l0);
        // A new store (its own pool) per run, as a server started on this data would have.
        const store = new PostgresStore(opts.databaseUrl);
        try {
          const measured = await measureSegment(await openSegmentStore(store), now, scanPreview);
          return checkMembers({ ...sizes, seedSeconds, limitSeconds, limitMembers: Number(limit.rows[0]!.n), ...measured });
        } finally {
          await store.close();
        }
      },
      async close() {
        await client.end().catch(() => undefined);
        await dropBenchSchema(opts.databaseUrl);
      },
    };
  } catch (err) {
    await client.end().catch(() => undefined);
    await dropBenchSchema(opts.databaseUrl);
    throw err;
  }
}
