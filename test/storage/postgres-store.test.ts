import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.ts';
import { postgresTestUrl } from '../support/postgres.ts';
import { storeContract } from './store.contract.ts';

const db = await postgresTestUrl();

if (!db) {
  describe('PostgresStore', { skip: 'PostgreSQL is not reachable (see the warning above)' }, () => {});
} else {
  after(() => db.drop());
  storeContract('PostgresStore', async () => new PostgresStore(db.url));

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
