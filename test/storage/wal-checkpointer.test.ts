/**
 * The background WAL checkpointer: what the writers committed reaches the database files without any
 * writer checkpointing it, the WAL still restarts (so it stays bounded), and a server with its processor
 * in a thread runs one for the log and the store.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteEventLog } from '../../src/log/sqlite/sqlite-log.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { WalCheckpointer } from '../../src/storage/sqlite/wal-checkpointer.ts';
import { basicAuth, startTessera, tempDir, type Harness } from '../support/harness.ts';

/** What a reader of the database file alone (its WAL ignored) finds in `table`: copied by a checkpoint, or not there. */
function rowsInFileAlone(file: string, table: string): number {
  const copy = path.join(tempDir('tessera-ckpt-copy-'), 'copy.sqlite');
  fs.copyFileSync(file, copy);
  const db = new Database(copy, { readonly: true });
  try {
    const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
    return exists ? (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n : 0;
  } finally {
    db.close();
  }
}

const opened: Array<{ close(): unknown }> = [];

/** A store with a table of notes, and `write(n)`: n notes of 500 bytes in one transaction. */
function notesStore(): { store: SqliteStore; write: (n: number) => void } {
  const store = new SqliteStore(path.join(tempDir('tessera-ckpt-'), 'store.sqlite'));
  opened.push(store);
  store.db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
  const insert = store.db.prepare('INSERT INTO notes (body) VALUES (?)');
  const write = (n: number) =>
    store.db.transaction(() => {
      for (let i = 0; i < n; i++) insert.run('y'.repeat(500));
    })();
  return { store, write };
}
after(async () => {
  for (const o of opened.reverse()) await o.close();
});

describe('background WAL checkpoints', () => {
  it("copies the store's and the log's commits into their database files; the writers did not", async () => {
    const dir = tempDir('tessera-ckpt-');
    const store = new SqliteStore(path.join(dir, 'store.sqlite'));
    opened.push(store);
    store.db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
    const insert = store.db.prepare('INSERT INTO notes (body) VALUES (?)');
    store.db.transaction(() => {
      for (let i = 0; i < 500; i++) insert.run('x'.repeat(200));
    })();
    const log = new SqliteEventLog(path.join(dir, 'log.sqlite'));
    opened.push(log);
    for (let i = 0; i < 20; i++)
      await log.append({ sourceId: 's', receivedAt: i, typeHint: null, shape: 'batch', body: '{"batch":[]}', messages: 1 });
    // Far below the writers' thresholds: nothing has been copied yet.
    assert.equal(rowsInFileAlone(store.file, 'notes'), 0);
    assert.equal(rowsInFileAlone(path.join(dir, 'log.sqlite'), 'log'), 0);

    const checkpointer = new WalCheckpointer([
      { name: 'store', file: store.file },
      { name: 'log', file: path.join(dir, 'log.sqlite') },
    ]);
    opened.push(checkpointer);
    const passes = checkpointer.runOnce();
    for (const p of passes) {
      assert.equal(p.busy, false, p.name);
      assert.ok(p.frames > 0, p.name);
      assert.equal(p.copied, p.frames, `${p.name}: every frame copied`);
      assert.equal(p.newlyCopied, p.frames, p.name);
    }
    assert.equal(rowsInFileAlone(store.file, 'notes'), 500);
    assert.equal(rowsInFileAlone(path.join(dir, 'log.sqlite'), 'log'), 20);
    // Nothing new: nothing copied.
    assert.deepEqual(
      checkpointer.runOnce().map((p) => p.newlyCopied),
      [0, 0],
    );
  });

  it('the next writer starts the WAL over once everything is copied, so it stays bounded', () => {
    const { store, write } = notesStore();
    const checkpointer = new WalCheckpointer([{ name: 'store', file: store.file }]);
    opened.push(checkpointer);
    write(400);
    const first = checkpointer.runOnce()[0]!;
    assert.equal(first.copied, first.frames);
    write(1);
    const second = checkpointer.runOnce()[0]!;
    assert.ok(second.frames < first.frames, `restarted: ${second.frames} frames after ${first.frames}`);
    assert.equal(second.newlyCopied, second.frames, 'the frames of the new transaction, counted from the restart');
    assert.equal(rowsInFileAlone(store.file, 'notes'), 401);
  });

  it('starts a long WAL over itself once all of it is copied, unless a reader still uses it', () => {
    const { store, write } = notesStore();
    const checkpointer = new WalCheckpointer([{ name: 'store', file: store.file }], 50);
    opened.push(checkpointer);
    // A reader on another connection, inside a snapshot that uses the WAL.
    const reader = new Database(store.file, { readonly: true });
    opened.push(reader);
    write(200);
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM notes').get();
    write(200);
    const held = checkpointer.runOnce()[0]!;
    assert.ok(held.frames >= 50, `${held.frames} frames`);
    assert.equal(held.restarted, false, 'a reader still needs the WAL');
    reader.exec('COMMIT');
    const pass = checkpointer.runOnce()[0]!;
    assert.equal(pass.restarted, true);
    write(1);
    const after = checkpointer.runOnce()[0]!;
    assert.ok(after.frames < 10, `the next writer started the WAL over: ${after.frames} frames`);
    assert.equal(rowsInFileAlone(store.file, 'notes'), 401);
  });

  it('a server whose processor runs in a thread checkpoints the log and the store in the background', async () => {
    const h: Harness = await startTessera();
    opened.push(h);
    const batch = Array.from({ length: 50 }, (_, i) => ({ type: 'track', event: 'Seen', userId: `u${i}`, messageId: `m-${i}` }));
    const res = await fetch(`${h.url}/v1/batch`, {
      method: 'POST',
      headers: { authorization: basicAuth(h.writeKey), 'content-type': 'application/json' },
      body: JSON.stringify({ batch }),
    });
    assert.equal(res.status, 200);
    await h.drained();
    const copied = async () => {
      const text = await (await h.admin('/metrics')).text();
      const of = (db: string) =>
        Number(new RegExp(`tessera_sqlite_checkpoint_frames_total\\{database="${db}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
      return { log: of('log'), store: of('store') };
    };
    const storeFile = path.join(h.dataDir, 'tessera.sqlite');
    // The 50 events in the store's file alone: copied there by a checkpoint. (A copy taken while a
    // checkpoint writes may be torn: read again.)
    const eventsInFile = () => {
      try {
        return rowsInFileAlone(storeFile, 'events');
      } catch {
        return -1;
      }
    };
    let seen = await copied();
    // The thread passes every 100 ms; wait for it (bounded, so a broken thread fails rather than hangs).
    for (let i = 0; i < 300 && (seen.log === 0 || seen.store === 0 || eventsInFile() !== 50); i++) {
      await new Promise((r) => setTimeout(r, 50));
      seen = await copied();
    }
    assert.ok(seen.log > 0 && seen.store > 0, JSON.stringify(seen));
    assert.equal(eventsInFile(), 50);
  });
});
