/** Limits measured in the same run: what the machine itself can do with the same data. */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeBatchTemplate } from '../batch-template.ts';
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

/** Raw SQLite: insert the same events (payload + the same columns) in 1,000-row transactions, primary key only. */
export async function sqliteInsertLimit(events: number): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-raw-'));
  const db = new Database(path.join(dir, 'raw.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(
    'CREATE TABLE events (seq INTEGER PRIMARY KEY, message_id TEXT, type TEXT, name TEXT, user_id TEXT, anonymous_id TEXT, ts INTEGER, payload TEXT)',
  );
  const insert = db.prepare('INSERT INTO events (message_id, type, name, user_id, anonymous_id, ts, payload) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const batch = (JSON.parse(makeBatchTemplate(1000, 1)) as { batch: Array<Record<string, unknown>> }).batch;
  const rows = batch.map(
    (m) =>
      [
        m.messageId,
        m.type,
        (m.event ?? m.name ?? null) as string | null,
        (m.userId ?? null) as string | null,
        m.anonymousId,
        Date.now(),
        JSON.stringify(m),
      ] as const,
  );
  const tx = db.transaction((n: number) => {
    for (const r of rows) insert.run(`${r[0]}-${n}`, r[1], r[2], r[3], r[4], r[5], r[6]);
  });
  const t0 = performance.now();
  for (let n = 0; n < events / 1000; n++) tx(n);
  const rate = events / ((performance.now() - t0) / 1000);
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return rate;
}
