/** Limits measured in the same run: what the machine itself can do with the same data. */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { makeBatchTemplate } from '../batch-template.ts';
import { dropBenchSchema } from './postgres-url.ts';
import { runLoad, startProcess, stopProcess, type LoadResult } from './processes.ts';

/** A bare node:http server that only JSON.parses each batch, driven by the same load generator. */
export async function bareLimit(seconds: number, connections: number): Promise<LoadResult> {
  const { child, match } = await startProcess(['--import', 'tsx', 'bench/bare-server.ts'], {}, /(http:\/\/\S+)/);
  try {
    return await runLoad(match[1]!, 'bench', seconds, connections);
  } finally {
    await stopProcess(child);
  }
}

type Row = readonly [
  messageId: string,
  type: string,
  name: string | null,
  userId: string | null,
  anonymousId: string | null,
  payload: string,
];

/** The event rows of some messages (the columns the stores keep, payload as JSON text). */
function rowsOf(messages: ReadonlyArray<Record<string, unknown>>): Row[] {
  const text = (v: unknown) => (v === undefined || v === null ? null : String(v));
  return messages.map((m) => [
    String(m.messageId),
    String(m.type),
    text(m.event ?? m.name),
    text(m.userId),
    text(m.anonymousId),
    JSON.stringify(m),
  ]);
}

/** The template batch of the ingest scenario, as 1,000 messages. */
export function templateMessages(): Array<Record<string, unknown>> {
  return (JSON.parse(makeBatchTemplate(1000, 1)) as { batch: Array<Record<string, unknown>> }).batch;
}

/**
 * Raw SQLite: insert `events` rows of `messages` (cycled; payload + the same columns) in 1,000-row
 * transactions, primary key only.
 */
export async function sqliteInsertLimit(
  events: number,
  messages: ReadonlyArray<Record<string, unknown>> = templateMessages(),
): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-raw-'));
  const db = new Database(path.join(dir, 'raw.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(
    'CREATE TABLE events (seq INTEGER PRIMARY KEY, message_id TEXT, type TEXT, name TEXT, user_id TEXT, anonymous_id TEXT, ts INTEGER, payload TEXT)',
  );
  const insert = db.prepare('INSERT INTO events (message_id, type, name, user_id, anonymous_id, ts, payload) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const rows = rowsOf(messages);
  const now = Date.now();
  const tx = db.transaction((first: number) => {
    for (let k = first; k < first + 1000; k++) {
      const r = rows[k % rows.length]!;
      insert.run(`${r[0]}-${k}`, r[1], r[2], r[3], r[4], now, r[5]);
    }
  });
  const t0 = performance.now();
  for (let n = 0; n < events; n += 1000) tx(n);
  const rate = events / ((performance.now() - t0) / 1000);
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return rate;
}

/**
 * Raw PostgreSQL in a fresh schema of `url`: the same rows, 1,000 per multi-row `unnest` INSERT (one
 * transaction each, as the adapter writes), primary key only.
 */
export async function postgresInsertLimit(
  url: string,
  events: number,
  messages: ReadonlyArray<Record<string, unknown>> = templateMessages(),
): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      'CREATE TABLE raw_events (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, message_id TEXT, type TEXT, name TEXT, user_id TEXT, anonymous_id TEXT, ts BIGINT, payload TEXT)',
    );
    const rows = rowsOf(messages);
    const now = Date.now();
    const t0 = performance.now();
    for (let first = 0; first < events; first += 1000) {
      const cols: Array<Array<string | null | number>> = [[], [], [], [], [], [], []];
      for (let k = first; k < first + 1000; k++) {
        const r = rows[k % rows.length]!;
        cols[0]!.push(`${r[0]}-${k}`);
        cols[1]!.push(r[1]);
        cols[2]!.push(r[2]);
        cols[3]!.push(r[3]);
        cols[4]!.push(r[4]);
        cols[5]!.push(now);
        cols[6]!.push(r[5]);
      }
      await client.query(
        `INSERT INTO raw_events (message_id, type, name, user_id, anonymous_id, ts, payload)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[])`,
        cols,
      );
    }
    return events / ((performance.now() - t0) / 1000);
  } finally {
    await client.end();
    await dropBenchSchema(url);
  }
}
