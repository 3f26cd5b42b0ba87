/** Configuration: defaults for the two-command quick start, and a clear message naming a bad setting. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/config.ts';
import { ConfigError } from '../../src/config/config-error.ts';

describe('configuration', () => {
  it('defaults: 127.0.0.1:8080, SQLite under ./data, worker processor', () => {
    const c = parseConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.dataDir, path.resolve('./data'));
    assert.deepEqual(c.storage, { kind: 'sqlite', file: path.resolve('./data/tessera.sqlite') });
    assert.equal(c.processor, 'worker');
    assert.equal(c.adminToken, undefined);
    assert.equal(c.limits.maxBatchMessages, 2500);
  });

  it('a postgres:// URL selects PostgreSQL; flags win over the environment', () => {
    const c = parseConfig({ TESSERA_DATABASE_URL: 'postgres://u@h:5432/db', PORT: '9000' }, { port: '9100' });
    assert.deepEqual(c.storage, { kind: 'postgres', url: 'postgres://u@h:5432/db' });
    assert.equal(c.port, 9100);
  });

  const bad: Array<[Record<string, string>, string]> = [
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ TESSERA_DATABASE_URL: 'mysql://x' }, 'TESSERA_DATABASE_URL'],
    [{ TESSERA_ADMIN_TOKEN: 'short' }, 'TESSERA_ADMIN_TOKEN'],
    [{ TESSERA_MAX_BATCH_MESSAGES: '0' }, 'TESSERA_MAX_BATCH_MESSAGES'],
    [{ TESSERA_DEDUP_WINDOW_HOURS: '1' }, 'TESSERA_DEDUP_WINDOW_HOURS'],
    [{ TESSERA_PROCESSOR: 'threads' }, 'TESSERA_PROCESSOR'],
    [{ TESSERA_LOG_LEVEL: 'loud' }, 'TESSERA_LOG_LEVEL'],
  ];
  for (const [env, setting] of bad) {
    it(`refuses ${JSON.stringify(env)} naming ${setting}`, () => {
      assert.throws(
        () => parseConfig(env),
        (err: unknown) => err instanceof ConfigError && err.setting === setting && err.message.includes(setting),
      );
    });
  }
});
