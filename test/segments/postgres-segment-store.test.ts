import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { PostgresSegmentStore } from '../../src/storage/segments/postgres/postgres-segment-store.ts';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.ts';
import { postgresTestUrl } from '../support/postgres.ts';
import { segmentStoreContract } from './segment-store.contract.ts';

const db = await postgresTestUrl();

if (!db) {
  describe('PostgreSQL segment store', { skip: 'PostgreSQL is not reachable (see the warning above)' }, () => {});
} else {
  after(() => db.drop());
  segmentStoreContract('PostgreSQL', async () => {
    const store = new PostgresStore(db.url);
    return { store, segments: new PostgresSegmentStore(store.pool) };
  });

  describe('PostgreSQL audience lease', () => {
    it('one runner per schema: a second stands by until the first lets go (or its connection dies)', async () => {
      const stores = [new PostgresStore(db.url), new PostgresStore(db.url)];
      const [a, b] = stores.map((s) => new PostgresSegmentStore(s.pool)) as [PostgresSegmentStore, PostgresSegmentStore];
      try {
        await stores[0]!.migrate();
        await a.migrate();
        const first = await a.acquireLease();
        assert.ok(first);
        assert.equal(await b.acquireLease(), null);
        await first.release();
        const second = await b.acquireLease();
        assert.ok(second, 'free once released');
        // A session lock dies with its connection: end the holder's session (found by this schema's lock
        // key, so no other backend is touched) and the lease is free again.
        await stores[0]!.pool.query(
          `SELECT pg_terminate_backend(pid) FROM pg_locks
           WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND objsubid = 1 AND objid = ((hashtext('tessera:audiences:' || current_schema())::bigint) & 4294967295)::oid`,
        );
        let third = null;
        for (let i = 0; i < 500 && third === null; i++) {
          third = await a.acquireLease();
          if (third === null) await new Promise((r) => setTimeout(r, 20));
        }
        assert.ok(third, 'taken over after the holder died');
        await third.release();
        await second.release(); // its connection is gone: releasing must not throw
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });
  });
}
