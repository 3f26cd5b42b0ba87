import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { advisoryXactLock, COMMIT_LOCK, eventListQuery, PostgresStore } from '../../src/storage/postgres/postgres-store.ts';
import { postgresTestUrl } from '../support/postgres.ts';
import { anEvent, aSource, storeContract } from './store.contract.ts';

const db = await postgresTestUrl();

if (!db) {
  describe('PostgresStore', { skip: 'PostgreSQL is not reachable (see the warning above)' }, () => {});
} else {
  after(() => db.drop());
  storeContract('PostgresStore', async () => new PostgresStore(db.url));

  describe('PostgresStore event listing by userId', () => {
    it('can read through indexes, never needing a scan of the events', async () => {
      const store = new PostgresStore(db.url);
      const client = new pg.Client({ connectionString: db.url });
      try {
        await store.migrate();
        await client.connect();
        // On a small table a scan is cheapest; forbidding scans shows whether the indexes can answer at all.
        await client.query('SET enable_seqscan = off');
        for (const f of [{}, { name: 'Order Completed' }, { beforeSeq: 10 }]) {
          const { sql, params } = eventListQuery({ userId: 'u-1', limit: 50, ...f });
          const plan = (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params)).rows.map((r) => r['QUERY PLAN']).join('\n');
          assert.ok(!/Seq Scan on events/.test(plan), `${JSON.stringify(f)}:\n${plan}`);
          if (!('name' in f)) assert.ok(plan.includes('events_by_user_id_elsewhere'), `${JSON.stringify(f)}:\n${plan}`);
        }
      } finally {
        await client.end();
        await store.close();
      }
    });
  });

  describe('PostgresStore batches on several nodes', () => {
    it('claim their de-duplication keys while another node holds the commit lock, and wait for it only to go on', async () => {
      const store = new PostgresStore(db.url);
      const other = new pg.Client({ connectionString: db.url });
      const steps: string[] = [];
      try {
        await store.migrate();
        const source = aSource();
        await store.createSource(source);
        await other.connect();
        // Another node's batch, in its turn.
        await other.query('BEGIN');
        await advisoryXactLock(other, COMMIT_LOCK);
        const batch = store.runBatch(async (tx) => {
          const fresh = await tx.claim([anEvent({ sourceId: source.id }), anEvent({ sourceId: source.id })], Date.now());
          steps.push(`claimed ${fresh.join(',')}`);
          await tx.lock();
          steps.push('locked');
        });
        for (let waited = 0; steps.length === 0 && waited < 10_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 200));
        assert.deepEqual(steps, ['claimed true,true'], 'the claim went ahead; the rest waits for the turn');
        await other.query('COMMIT');
        await batch;
        assert.deepEqual(steps, ['claimed true,true', 'locked']);
      } finally {
        await other.end();
        await store.close();
      }
    });
  });

  describe('PostgresStore migrations', () => {
    it('let several instances migrate one empty schema at the same time', async () => {
      const fresh = await postgresTestUrl();
      assert.ok(fresh);
      const stores = [1, 2, 3, 4].map(() => new PostgresStore(fresh.url));
      try {
        await Promise.all(stores.map((s) => s.migrate()));
        await stores[0]!.ping();
        assert.equal(await stores[1]!.countEvents(), 0);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
        await fresh.drop();
      }
    });
  });
}
