/** `tessera segments …` as a user runs it: a real process against a temporary data directory. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { tempDir } from '../support/harness.ts';

const run = promisify(execFile);
const BIN = path.resolve('bin/tessera.js');
const tessera = (dataDir: string, ...args: string[]) =>
  run(process.execPath, [BIN, ...args, '--data-dir', dataDir], { env: { ...process.env, TESSERA_LOG_LEVEL: 'silent' } });

describe('tessera segments', () => {
  it('create, list, members and preview; a parse error is a message and exit code 1', async () => {
    const dir = tempDir();
    const created = JSON.parse(
      (await tessera(dir, 'segments', 'create', '--id', 'buyers', '--name', 'Buyers', '--query', "event('Order Completed').count() >= 1"))
        .stdout,
    ) as { id: string; status: string; definition: { kind: string } };
    assert.deepEqual([created.id, created.status, created.definition.kind], ['buyers', 'computing', 'event']);
    assert.match(
      (await tessera(dir, 'segments', 'list')).stdout,
      /^buyers\tcomputing\t0\tBuyers\tevent\('Order Completed'\)\.count\(\) >= 1\n$/,
    );
    assert.equal((await tessera(dir, 'segments', 'members', 'buyers')).stdout, '');
    const preview = JSON.parse((await tessera(dir, 'segments', 'preview', '--query', "trait('plan') = 'pro'")).stdout) as { count: number };
    assert.equal(preview.count, 0);
    await assert.rejects(tessera(dir, 'segments', 'preview', '--query', "trait('plan') ="), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /^validation_failed: query: line 1, column 16: expected/);
      return true;
    });
  });
});
