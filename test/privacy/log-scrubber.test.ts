/** The durable log's scrubs after an erasure: tried again until the files hold nothing, never past durability. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteEventLog } from '../../src/log/sqlite/sqlite-log.ts';
import { LogScrubber } from '../../src/privacy/log-scrubber.ts';
import { tempDir } from '../support/harness.ts';

const EMAIL = 'scrubbed.subject@example.org';

/** A log in a directory of its own holding one entry with the subject's e-mail, then one without. */
async function logWithSubject() {
  const dir = tempDir();
  const file = path.join(dir, 'log.sqlite');
  const log = new SqliteEventLog(file);
  const entry = (body: string) => ({ sourceId: 's', receivedAt: 1, typeHint: null, shape: 'batch' as const, body, messages: 1 });
  const seq = await log.append(entry(JSON.stringify({ batch: [{ type: 'identify', traits: { email: EMAIL } }] })));
  await log.append(entry('{"batch":[{"type":"track","event":"Other"}]}'));
  const filesHolding = () => fs.readdirSync(dir).filter((f) => fs.readFileSync(path.join(dir, f)).includes(Buffer.from(EMAIL)));
  return { file, log, seq, filesHolding };
}

/** An error reported by the scrubber fails the test (thrown from its timer: an uncaught exception). */
const raise = (err: unknown) => {
  throw err;
};

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), 'the condition never held');
};

describe('LogScrubber over the SQLite log', () => {
  it('tries again while a reader keeps the WAL busy, and empties it once the reader is gone', async () => {
    const { file, log, seq, filesHolding } = await logWithSubject();
    const reader = new Database(file, { readonly: true });
    const errors: unknown[] = [];
    const rewrites: Array<boolean | undefined> = [];
    const watched = { scrub: (upto: number, rewrite?: boolean) => (rewrites.push(rewrite), log.scrub(upto, rewrite)) };
    const scrubber = new LogScrubber({
      log: watched,
      durableSeq: () => seq,
      now: Date.now,
      onError: (e) => errors.push(e),
      retryMs: 10,
      maxRetryMs: 40,
    });
    try {
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM log').get(); // an old snapshot, held: the WAL cannot be emptied
      assert.equal(await scrubber.scrubNow(seq, 300), false, 'not done while the reader holds the WAL');
      assert.ok(scrubber.pending);
      assert.ok(filesHolding().includes('log.sqlite-wal'), 'the old frames are still in the WAL');
      assert.deepEqual(
        log.read(0, 10, 10).map((r) => r.seq),
        [seq + 1],
        'the entry itself is already deleted',
      );
      reader.exec('COMMIT');
      await until(() => !scrubber.pending);
      assert.deepEqual(filesHolding(), [], 'no file holds the e-mail once the reader is gone');
      assert.ok(rewrites.length >= 2 && rewrites[0] === true, 'the first try rewrote the file');
      assert.ok(
        rewrites.slice(1).every((r) => r === false),
        'the retries only emptied the WAL: nothing more was deleted',
      );
      assert.deepEqual(errors, []);
    } finally {
      scrubber.close();
      reader.close();
      await log.close();
    }
  });

  it('deletes entries only up to the durable position, and finishes once the store has caught up', async () => {
    const { log, seq, filesHolding } = await logWithSubject();
    let durable = seq - 1;
    const scrubber = new LogScrubber({ log, durableSeq: () => durable, now: Date.now, onError: raise, retryMs: 10, maxRetryMs: 20 });
    try {
      scrubber.request(seq);
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(scrubber.pending, 'still owed: the entry is not durable in the store yet');
      assert.deepEqual(
        log.read(0, 10, 10).map((r) => r.seq),
        [seq, seq + 1],
        'an entry the store could still lose stays in the log',
      );
      assert.ok(filesHolding().length > 0);
      durable = seq;
      await until(() => !scrubber.pending);
      assert.deepEqual(
        log.read(0, 10, 10).map((r) => r.seq),
        [seq + 1],
      );
      assert.deepEqual(filesHolding(), []);
    } finally {
      scrubber.close();
      await log.close();
    }
  });

  it('without a processor here, deletes nothing and still rewrites the files', async () => {
    const { log, seq } = await logWithSubject();
    const scrubber = new LogScrubber({ log, durableSeq: () => null, now: Date.now, onError: raise });
    try {
      assert.equal(await scrubber.scrubNow(seq, 5_000), true);
      assert.equal(log.read(0, 10, 10).length, 2, 'another node processes these entries: they stay');
    } finally {
      scrubber.close();
      await log.close();
    }
  });
});
