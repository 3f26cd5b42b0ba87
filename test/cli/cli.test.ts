/** The CLI as a user runs it: a real `tessera` process against a temporary data directory. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { tempDir } from '../support/harness.ts';
import { natsTestStream } from '../support/nats.ts';

const run = promisify(execFile);
const BIN = path.resolve('bin/tessera.js');
const tessera = (dataDir: string, ...args: string[]) => tesseraWith({}, dataDir, ...args);
const tesseraWith = (env: Record<string, string>, dataDir: string, ...args: string[]) =>
  run(process.execPath, [BIN, ...args, '--data-dir', dataDir], { env: { ...process.env, TESSERA_LOG_LEVEL: 'silent', ...env } });

/** `tessera demo` of 600 events into `dataDir`: every one is stored or failed with a reason. */
async function loadsDemo(env: Record<string, string>, dataDir: string): Promise<void> {
  const { stdout } = await tesseraWith(env, dataDir, 'demo', '--events', '600', '--seed', '7');
  assert.match(stdout, /loaded 600 demo events/);
  const store = new SqliteStore(path.join(dataDir, 'tessera.sqlite'));
  try {
    const failed = await store.listFailedEvents({ limit: 1000 });
    assert.equal((await store.countEvents()) + failed.length, 600, 'every event is stored or failed with a reason');
  } finally {
    await store.close();
  }
}

describe('tessera CLI', () => {
  it('migrate, sources create and list', async () => {
    const dir = tempDir();
    assert.match((await tessera(dir, 'migrate')).stdout, /schema up to date \(sqlite\)/);
    const created = JSON.parse((await tessera(dir, 'sources', 'create', 'Website')).stdout) as { id: string; writeKey: string };
    assert.match(created.id, /^src_/);
    assert.equal(created.writeKey.length, 32);
    const listed = JSON.parse((await tessera(dir, 'sources', 'list')).stdout) as Array<{ id: string }>;
    assert.deepEqual(
      listed.map((s) => s.id),
      [created.id],
    );
  });

  it('demo loads every generated event through the log and the processor; events tail prints them', async () => {
    const dir = tempDir();
    await loadsDemo({}, dir);
    const tail = await tessera(dir, 'events', 'tail', '-n', '3', '--no-follow');
    assert.equal(tail.stdout.trim().split('\n').length, 3);
    const rerun = await tessera(dir, 'config-check-nonexistent').catch((err: { stderr: string }) => err);
    assert.match(String((rerun as { stderr: string }).stderr), /unknown command/);
  });

  it('demo loads through a NATS JetStream log too, and leaves the stream empty', async (t) => {
    const nats = await natsTestStream();
    if (nats === null) return t.skip('NATS is not reachable');
    try {
      const dir = tempDir();
      await loadsDemo(nats.env, dir);
      assert.equal((await nats.state()).messages, 0, 'what was processed is purged');
      assert.ok(!fs.existsSync(path.join(dir, 'log.sqlite')), 'no embedded log was made');
    } finally {
      await nats.drop();
    }
  });

  it('an invalid setting stops it with a message naming the setting', async () => {
    const err = await run(process.execPath, [BIN, 'migrate'], { env: { ...process.env, TESSERA_DATABASE_URL: 'mysql://nope' } }).catch(
      (e: { stderr: string; code: number }) => e,
    );
    assert.equal((err as { code: number }).code, 2);
    assert.match((err as { stderr: string }).stderr, /TESSERA_DATABASE_URL/);
  });
});
