import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { storeContract } from './store.contract.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-sqlite-store-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

storeContract('SqliteStore', async () => new SqliteStore(path.join(dir, 'store.db')));
