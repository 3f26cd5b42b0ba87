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
    assert.deepEqual(c.log, { kind: 'sqlite', file: path.resolve('./data/log.sqlite') });
    assert.equal(c.processor, 'worker');
    assert.equal(c.adminToken, undefined);
    assert.equal(c.limits.maxBatchMessages, 2500);
  });

  it('a postgres:// URL selects PostgreSQL; flags win over the environment', () => {
    const c = parseConfig({ TESSERA_DATABASE_URL: 'postgres://u@h:5432/db', PORT: '9000' }, { port: '9100' });
    assert.deepEqual(c.storage, { kind: 'postgres', url: 'postgres://u@h:5432/db' });
    assert.equal(c.port, 9100);
  });

  it('a nats:// log URL puts the durable log on NATS JetStream, with its stream, cap and replicas', () => {
    assert.deepEqual(parseConfig({ TESSERA_LOG_URL: 'nats://127.0.0.1:4222' }).log, {
      kind: 'nats',
      servers: ['127.0.0.1:4222'],
      stream: 'TESSERA',
      maxBytes: 1024 * 1024 * 1024,
      replicas: 1,
      keyRotateMs: 60_000,
      auth: null,
      tls: null,
    });
    const c = parseConfig({
      TESSERA_LOG_URL: 'nats://nats-a:4222, nats-b:4222',
      TESSERA_NATS_STREAM: 'EU_EDGES',
      TESSERA_NATS_MAX_MB: '256',
      TESSERA_NATS_REPLICAS: '3',
      TESSERA_NATS_KEY_SECONDS: '300',
      TESSERA_NATS_USER: 'tessera',
      TESSERA_NATS_PASSWORD: 'hunter2-but-longer',
    });
    assert.deepEqual(c.log, {
      kind: 'nats',
      servers: ['nats-a:4222', 'nats-b:4222'],
      stream: 'EU_EDGES',
      maxBytes: 256 * 1024 * 1024,
      replicas: 3,
      keyRotateMs: 300_000,
      auth: { user: 'tessera', pass: 'hunter2-but-longer' },
      tls: null,
    });
    const t = parseConfig({ TESSERA_LOG_URL: 'nats://h:4222', TESSERA_NATS_TOKEN: 's3cret-token' });
    assert.deepEqual(t.log.kind === 'nats' && t.log.auth, { token: 's3cret-token' });
    // tls:// requires TLS (trusting the system's CAs unless a CA file is given); a CA file alone turns it on too.
    assert.deepEqual(parseConfig({ TESSERA_LOG_URL: 'tls://h:4222' }).log, {
      ...parseConfig({ TESSERA_LOG_URL: 'nats://h:4222' }).log,
      tls: {},
    });
    const ca = parseConfig({ TESSERA_LOG_URL: 'nats://h:4222', TESSERA_NATS_TLS_CA: 'package.json' }).log;
    assert.deepEqual(ca.kind === 'nats' && ca.tls, { caFile: path.resolve('package.json') });
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
    [{ TESSERA_LOG_URL: 'kafka://k:9092' }, 'TESSERA_LOG_URL'],
    [{ TESSERA_LOG_URL: 'nats://' }, 'TESSERA_LOG_URL'],
    [{ TESSERA_LOG_URL: 'nats://h:4222', TESSERA_NATS_KEY_SECONDS: '0' }, 'TESSERA_NATS_KEY_SECONDS'],
    [{ TESSERA_LOG_URL: 'nats://user:secret@host' }, 'TESSERA_LOG_URL'],
    [{ TESSERA_LOG_URL: 'nats://h:4222', TESSERA_NATS_STREAM: 'a.b' }, 'TESSERA_NATS_STREAM'],
    [{ TESSERA_LOG_URL: 'nats://h:4222', TESSERA_NATS_REPLICAS: '7' }, 'TESSERA_NATS_REPLICAS'],
    [{ TESSERA_LOG_URL: 'nats://h:4222', TESSERA_NATS_USER: 'u' }, 'TESSERA_NATS_PASSWORD'],
    [{ TESSERA_LOG_URL: 'tls://h:4222', TESSERA_NATS_TLS_CA: '/no/such/ca.pem' }, 'TESSERA_NATS_TLS_CA'],
    [{ TESSERA_LOG_URL: 'tls://h:4222', TESSERA_NATS_TLS_CERT: 'package.json' }, 'TESSERA_NATS_TLS_KEY'],
    [
      { TESSERA_LOG_URL: 'nats://h:4222', TESSERA_NATS_USER: 'u', TESSERA_NATS_PASSWORD: 'p', TESSERA_NATS_TOKEN: 't' },
      'TESSERA_NATS_TOKEN',
    ],
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
