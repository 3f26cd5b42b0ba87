/** Emptying a SQLite WAL after an erasure: busy while a reader holds it, done as soon as it lets go. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteRunner } from '../../src/storage/privacy/sqlite-runner.ts';
import { truncateWal } from '../../src/storage/sqlite/wal-truncate.ts';
import { tempDir } from '../support/harness.ts';

/** A WAL database with a secret row deleted (secure_delete on, as the store runs), and a reader of it. */
function databaseWithDeletedSecret() {
  const file = path.join(tempDir(), 'store.sqlite');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('secure_delete = ON');
  db.pragma('busy_timeout = 5000');
  db.exec('CREATE TABLE t (v TEXT)');
  db.prepare('INSERT INTO t VALUES (?)').run('secret.subject@example.org');
  db.prepare('DELETE FROM t').run();
  const walHoldsSecret = () => fs.readFileSync(`${file}-wal`).includes(Buffer.from('secret.subject@example.org'));
  const reader = new Database(file, { readonly: true });
  return { db, reader, walHoldsSecret };
}

describe('emptying the WAL of a SQLite database', () => {
  it('is busy while a reader holds an old snapshot, waits no longer than asked, and keeps the busy timeout', () => {
    const { db, reader, walHoldsSecret } = databaseWithDeletedSecret();
    try {
      assert.ok(walHoldsSecret(), 'the deleted row is still in the WAL before');
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM t').get();
      assert.equal(truncateWal(db, 20), false);
      assert.equal(db.pragma('busy_timeout', { simple: true }), 5000, 'the connection waits as before for other work');
      assert.ok(walHoldsSecret());
      reader.exec('COMMIT');
      assert.equal(truncateWal(db, 20), true);
      assert.equal(fs.statSync(`${db.name}-wal`).size, 0);
    } finally {
      reader.close();
      db.close();
    }
  });

  it("an erasure's reclaim on SQLite waits for the reader instead of leaving the old pages behind", async () => {
    const { db, reader, walHoldsSecret } = databaseWithDeletedSecret();
    try {
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM t').get();
      let done = false;
      const reclaim = new SqliteRunner(db).reclaim().then(() => (done = true));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(done, false, 'still trying while the reader holds the WAL');
      reader.exec('COMMIT');
      await reclaim;
      assert.equal(walHoldsSecret(), false);
    } finally {
      reader.close();
      db.close();
    }
  });
});
