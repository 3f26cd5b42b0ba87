import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { eventListQuery, SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { aBatch, anEvent, storeContract } from './store.contract.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-sqlite-store-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

storeContract('SqliteStore', async () => new SqliteStore(path.join(dir, 'store.db')));

describe('SqliteStore event seqs', () => {
  it('are never given twice: not even the seq of a deleted newest event (erasure, retention)', async () => {
    const store = new SqliteStore(path.join(dir, 'seqs.db'));
    try {
      await store.migrate();
      const sourceId = 'src-seqs';
      const seqs = async () => (await store.listEvents({ sourceId, limit: 10 })).map((e) => e.seq).sort((a, b) => a - b);
      await store.commitBatch(aBatch({ events: [anEvent({ sourceId }), anEvent({ sourceId })] }));
      const [, newest] = await seqs();
      store.db.prepare('DELETE FROM events WHERE seq = ?').run(newest);
      await store.commitBatch(aBatch({ events: [anEvent({ sourceId })] }));
      const after = await seqs();
      assert.equal(after.length, 2);
      assert.ok(after[1]! > newest!, `the new event got seq ${after[1]}, after the deleted ${newest}`);
    } finally {
      await store.close();
    }
  });
});

describe('SqliteStore event listing by userId', () => {
  it('reads the user’s events through their indexes, with or without other filters', async () => {
    const store = new SqliteStore(path.join(dir, 'plans.db'));
    try {
      await store.migrate();
      const filters = [
        {},
        { name: 'Order Completed' },
        { beforeSeq: 10 },
        { afterSeq: 10 },
        { sourceId: 's', type: 'track' as const, from: 0 },
      ];
      for (const f of filters) {
        const { sql, params } = eventListQuery({ userId: 'u-1', limit: 50, ...f });
        const plan = (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail);
        assert.ok(
          plan.some((d) => d.includes('events_by_user_id_elsewhere')),
          `${JSON.stringify(f)}: ${plan.join('; ')}`,
        );
      }
    } finally {
      await store.close();
    }
  });
});
