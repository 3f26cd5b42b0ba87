import fs from 'node:fs';
import path from 'node:path';
import { after } from 'node:test';
import { SqliteSegmentStore } from '../../src/storage/segments/sqlite/sqlite-segment-store.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { tempDir } from '../support/harness.ts';
import { segmentStoreContract } from './segment-store.contract.ts';

const dir = tempDir('tessera-segment-store-');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

segmentStoreContract('SQLite', async () => {
  const store = new SqliteStore(path.join(dir, 'store.db'));
  return { store, segments: new SqliteSegmentStore(store.db) };
});
