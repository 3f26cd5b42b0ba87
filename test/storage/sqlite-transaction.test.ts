import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { sqliteTransaction } from '../../src/storage/sqlite/sqlite-transaction.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-sqlite-tx-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Two connections to one WAL file, as the processor's and the audience runner's threads have. */
function twoConnections(name: string): [Database.Database, Database.Database] {
  const file = path.join(dir, name);
  const a = new Database(file);
  a.pragma('journal_mode = WAL');
  a.exec('CREATE TABLE t (v INTEGER)');
  const b = new Database(file);
  b.pragma('busy_timeout = 4321');
  return [a, b];
}

describe('sqliteTransaction waiting for the write lock', { timeout: 20_000 }, () => {
  it('waits without blocking the event loop, and goes ahead as soon as the lock is free', async () => {
    const [holder, waiter] = twoConnections('wait.sqlite');
    holder.exec('BEGIN IMMEDIATE');
    holder.exec('INSERT INTO t VALUES (1)');
    const ticks: number[] = [];
    const ticker = setInterval(() => ticks.push(performance.now()), 2);
    setTimeout(() => holder.exec('COMMIT'), 40);
    const started = performance.now();
    const seen = await sqliteTransaction(waiter, async () => {
      waiter.exec('INSERT INTO t VALUES (2)');
      return waiter.prepare('SELECT count(*) AS n FROM t').get() as { n: number };
    });
    clearInterval(ticker);
    assert.equal(seen.n, 2, "it ran after the holder's commit, on a snapshot that holds it");
    assert.ok(
      ticks.filter((t) => t > started).length >= 1,
      `the event loop ran while it waited (${ticks.length} ticks); busy_timeout would have blocked it`,
    );
    assert.equal(waiter.pragma('busy_timeout', { simple: true }), 4321, "the connection's own busy_timeout is restored");
    holder.close();
    waiter.close();
  });

  it('gives up with SQLITE_BUSY after its timeout, holding nothing', async () => {
    const [holder, waiter] = twoConnections('timeout.sqlite');
    holder.exec('BEGIN IMMEDIATE');
    let ran = false;
    await assert.rejects(
      sqliteTransaction(
        waiter,
        async () => {
          ran = true;
        },
        30,
      ),
      (err: { code?: string }) => err.code === 'SQLITE_BUSY',
    );
    assert.equal(ran, false);
    assert.equal(waiter.inTransaction, false);
    holder.exec('ROLLBACK');
    await sqliteTransaction(waiter, async () => void waiter.exec('INSERT INTO t VALUES (3)'));
    assert.equal((waiter.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 1);
    holder.close();
    waiter.close();
  });
});
