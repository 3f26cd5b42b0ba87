/**
 * The durable log on a real NATS JetStream server: what the edge appends, the processor's reader gets
 * back in order with everything it needs; nothing is let go before it is released; the stream's cap
 * is back-pressure; what is processed durably is purged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TesseraError } from '../../src/core/errors/catalogue.ts';
import type { LogEntry, LogRecord } from '../../src/log/event-log.ts';
import { NatsEventLog } from '../../src/log/nats/nats-log.ts';
import { READER_BUFFER_BYTES } from '../../src/log/nats/nats-reader.ts';
import { subjectOf } from '../../src/log/nats/nats-stream.ts';
import { natsTestStream, type NatsTestStream } from '../support/nats.ts';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/** Retry an assertion about background work until it holds (fail after ~10 s with its last error). */
async function eventually(check: () => unknown): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await check();
      return;
    } catch (err) {
      if (i >= 400) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

const entry = (i: number, messages = 2): LogEntry => ({
  sourceId: `src_${i % 3}`,
  receivedAt: 1_700_000_000_000 + i,
  typeHint: i % 4 === 1 ? 'track' : null,
  shape: i % 4 === 1 ? 'single' : i % 4 === 3 ? 'command' : 'batch',
  body: JSON.stringify({ i, text: 'Grüße ✓' }),
  messages,
});

async function withStream(t: { skip(msg: string): void }, fn: (s: NatsTestStream) => Promise<void>, options = {}) {
  const s = await natsTestStream(options);
  if (s === null) return t.skip('NATS is not reachable');
  try {
    await fn(s);
  } finally {
    await s.drop();
  }
}

/** Read everything after `after` (as the processor does, waiting for the reader's buffer to fill). */
async function readAll(log: NatsEventLog, after: number, count: number): Promise<LogRecord[]> {
  let got: LogRecord[] = [];
  await eventually(() => {
    got = log.read(after, 1000, 1_000_000);
    assert.equal(got.length, count);
  });
  return got;
}

describe('NATS JetStream log', () => {
  it('hands the reader every appended entry in order, with its metadata, until the reader releases it', async (t) => {
    await withStream(t, async (s) => {
      const edge = await NatsEventLog.open(s.settings, { name: 'test-edge', keys: s.keys });
      const reader = await NatsEventLog.open(s.settings, { name: 'test-reader', keys: s.keys });
      try {
        assert.equal(reader.logId, edge.logId, 'one stream, one log id');
        const seqs = await Promise.all(Array.from({ length: 40 }, (_, i) => edge.append(entry(i))));
        assert.deepEqual(
          [...seqs].sort((a, b) => a - b),
          Array.from({ length: 40 }, (_, i) => i + 1),
        );
        let heard = 0;
        reader.onAppend(() => heard++);
        reader.follow(0);
        const all = await readAll(reader, 0, 40);
        assert.ok(heard >= 40, 'the reader is told of each entry');
        assert.deepEqual(
          all.map((r) => r.seq),
          Array.from({ length: 40 }, (_, i) => i + 1),
        );
        for (const r of all) {
          const i = seqs.indexOf(r.seq);
          const { seq, ...rest } = r;
          assert.deepEqual(rest, entry(i), `entry ${seq} comes back as appended`);
        }
        // Limits: records, then messages (at least one record).
        assert.equal(reader.read(0, 5, 1_000).length, 5);
        assert.equal(reader.read(0, 100, 7).length, 3);
        assert.equal(reader.read(0, 100, 1).length, 1);
        // A failed micro-batch reads the same entries again; released ones are gone from the buffer.
        assert.equal(reader.read(10, 100, 1_000)[0]!.seq, 11);
        reader.release(10);
        assert.equal(reader.read(10, 100, 1_000).length, 30);
        assert.equal(edge.headSeq(), 40);
        // A cursor that moved back (a store restored from a backup) reads the stream again from there.
        assert.deepEqual(reader.read(4, 100, 1_000), []);
        const again = await readAll(reader, 4, 36);
        assert.equal(again[0]!.seq, 5);
      } finally {
        await reader.close();
        await edge.close();
      }
    });
  });

  it('a reader that starts at a cursor gets only what follows it, including entries appended later', async (t) => {
    await withStream(t, async (s) => {
      const edge = await NatsEventLog.open(s.settings, { name: 'test-edge', keys: s.keys });
      const reader = await NatsEventLog.open(s.settings, { name: 'test-reader', keys: s.keys });
      try {
        for (let i = 0; i < 5; i++) await edge.append(entry(i));
        reader.follow(3);
        await readAll(reader, 3, 2);
        await edge.append(entry(5));
        const records = await readAll(reader, 3, 3);
        assert.deepEqual(
          records.map((r) => r.seq),
          [4, 5, 6],
        );
      } finally {
        await reader.close();
        await edge.close();
      }
    });
  });

  it('pulls only as much as its buffer holds: a backlog stays in the stream until the processor gets to it', async (t) => {
    await withStream(
      t,
      async (s) => {
        const edge = await NatsEventLog.open(s.settings, { name: 'test-edge', keys: s.keys });
        const reader = await NatsEventLog.open(s.settings, { name: 'test-reader', keys: s.keys });
        try {
          // 3,000 entries of ~20 KB: 60 MB, about twice the reader's buffer.
          const pad = 'x'.repeat(20_000);
          for (let i = 0; i < 3000; i += 100)
            await Promise.all(
              Array.from({ length: 100 }, (_, j) => edge.append({ ...entry(i + j, 20), body: JSON.stringify({ i: i + j, pad }) })),
            );
          reader.follow(0);
          await eventually(() => assert.ok(reader.read(0, 10_000, 10_000_000).length >= 500, 'the reader fills its buffer'));
          await new Promise((r) => setTimeout(r, 300));
          const held = reader.read(0, 10_000, 10_000_000);
          const bytes = held.reduce((n, r) => n + r.body.length, 0);
          assert.ok(bytes <= READER_BUFFER_BYTES * 1.1, `the buffer holds ${bytes} bytes (${held.length} of 3,000 entries)`);
          // As the processor commits and releases, the rest comes in, in order.
          let cursor = 0;
          while (cursor < 3000) {
            let next: LogRecord[] = [];
            await eventually(() => assert.ok((next = reader.read(cursor, 500, 5000)).length > 0, `entries after ${cursor}`));
            assert.equal(next[0]!.seq, cursor + 1);
            cursor = next[next.length - 1]!.seq;
            reader.release(cursor);
          }
        } finally {
          await reader.close();
          await edge.close();
        }
      },
      { maxBytes: 128 * 1024 * 1024 },
    );
  });

  it('seals every body: the stream holds no plain text, and an entry whose key is gone reads back as unreadable', async (t) => {
    await withStream(t, async (s) => {
      const edge = await NatsEventLog.open(s.settings, { name: 'test-edge', keys: s.keys });
      const reader = await NatsEventLog.open(s.settings, { name: 'test-reader', keys: s.keys });
      const nc = await connect({ servers: s.settings.servers });
      try {
        const body = JSON.stringify({ batch: [{ type: 'identify', userId: 'u1', traits: { email: 'sealed@example.com' } }] });
        const seq = await edge.append({ ...entry(0, 1), body });
        const raw = await (await jetstreamManager(nc)).streams.getMessage(s.settings.stream, { seq });
        assert.ok(raw !== null, 'the stream holds the entry');
        assert.ok(!Buffer.from(raw.data).toString('latin1').includes('sealed@example.com'), 'the payload JetStream stores is sealed');
        const keyId = raw.header.get('Tessera-Key');
        assert.ok(keyId !== '', 'the message names its key');
        reader.follow(0);
        assert.equal((await readAll(reader, 0, 1))[0]!.body, body, 'the reader opens it with the key from the store');

        // The key lost before the entry was read (it should never be: keys go only once their entries are purged).
        await s.keys.delete(edge.logId, [keyId]);
        const late = await NatsEventLog.open(s.settings, { name: 'test-late-reader', keys: s.keys });
        try {
          late.follow(0);
          const [record] = await readAll(late, 0, 1);
          assert.equal(record!.body, '');
          assert.match(record!.unreadable ?? '', new RegExp(`key ${keyId} is no longer in the store`));
        } finally {
          await late.close();
        }
      } finally {
        await nc.close();
        await reader.close();
        await edge.close();
      }
    });
  });

  it('shreds a key once every entry it sealed is processed and purged, never before', async (t) => {
    await withStream(t, async (s) => {
      const edge = await NatsEventLog.open(s.settings, { name: 'test-edge', keys: s.keys });
      try {
        const keysNow = async () => (await s.keys.list(edge.logId)).keys;
        for (let i = 0; i < 3; i++) await edge.append(entry(i));
        // Found by id: two keys made within the same millisecond list in either order.
        const [first] = await keysNow();
        edge.scrub(0); // as after an erasure: the next append takes a new key
        for (let i = 3; i < 6; i++) await edge.append(entry(i));
        assert.equal((await keysNow()).length, 2, 'one key per rotation');
        // The first key is retired (its appends settled) and sealed at the stream's last entry then (6).
        edge.truncate(3);
        await eventually(async () =>
          assert.equal((await keysNow()).find((k) => k.keyId === first!.keyId)?.sealedSeq, 6, 'the first key sealed at entry 6'),
        );
        // Entries 4–6 are not processed: shredding the first key now could lose entries it sealed after 3.
        await new Promise((r) => setTimeout(r, 2_500));
        assert.equal((await keysNow()).length, 2, 'both keys kept while entries up to 6 wait');
        // An erasure once everything is processed: the second key is retired too, and with everything purged both go.
        edge.scrub(6);
        await eventually(async () => assert.equal((await keysNow()).length, 0, 'every key shredded'));
        assert.deepEqual(await s.state(), { messages: 0, firstSeq: 7, lastSeq: 6 });
      } finally {
        await edge.close();
      }
    });
  });

  it('purges what was processed durably, and counts the rest as backlog', async (t) => {
    await withStream(t, async (s) => {
      const edge = await NatsEventLog.open(s.settings, { name: 'test-edge', keys: s.keys });
      try {
        for (let i = 0; i < 10; i++) await edge.append(entry(i, 5));
        assert.deepEqual({ ...edge.backlog(0), oldestReceivedAt: null }, { records: 10, messages: 50, oldestReceivedAt: null });
        // The first entry after the processor's position tells how long the pipeline lags (looked up twice a second).
        await eventually(() => assert.equal(edge.backlog(0).oldestReceivedAt, entry(0).receivedAt, 'the oldest waiting entry'));
        assert.equal(edge.backlog(4).records, 6);
        await eventually(() => assert.equal(edge.backlog(4).oldestReceivedAt, entry(4).receivedAt, 'the oldest after 4'));
        edge.truncate(6);
        await eventually(async () => assert.deepEqual(await s.state(), { messages: 4, firstSeq: 7, lastSeq: 10 }));
        // Purged entries are not backlog even for an instance that does not know the processor's position.
        await eventually(() => assert.equal(edge.backlog(0).records, 4));
        edge.truncate(3); // behind what is purged already: nothing happens
        await edge.close();
        assert.equal((await s.state()).firstSeq, 7);
      } finally {
        await edge.close();
      }
    });
  });

  it('refuses appends past the stream cap with 503 overloaded, and takes them again once purged', async (t) => {
    await withStream(
      t,
      async (s) => {
        const edge = await NatsEventLog.open({ ...s.settings, maxBytes: 64 * 1024 }, { name: 'test-edge', keys: s.keys });
        try {
          const big = { ...entry(0), body: JSON.stringify({ pad: 'x'.repeat(4000) }) };
          let accepted = 0;
          let refusal: unknown;
          for (let i = 0; i < 40 && refusal === undefined; i++) {
            try {
              accepted = await edge.append(big);
            } catch (err) {
              refusal = err;
            }
          }
          assert.ok(refusal instanceof TesseraError, `refused: ${String(refusal)}`);
          assert.equal(refusal.code, 'overloaded');
          assert.equal(refusal.status, 503);
          assert.equal(refusal.retryAfterSeconds, 2);
          assert.ok(accepted > 5 && accepted < 17, `about 64 KiB of 4 KiB entries fit: ${accepted}`);
          edge.truncate(accepted);
          await eventually(async () => assert.equal((await s.state()).messages, 0));
          assert.equal(await edge.append(big), accepted + 1);
        } finally {
          await edge.close();
        }
      },
      { maxBytes: 64 * 1024 },
    );
  });

  it('refuses a body over the NATS message size with 413, before sending it', async (t) => {
    await withStream(t, async (s) => {
      const edge = await NatsEventLog.open(s.settings, { name: 'test-edge', keys: s.keys });
      try {
        const huge = { ...entry(0), body: JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }) };
        await assert.rejects(edge.append(huge), (err: unknown) => err instanceof TesseraError && err.code === 'payload_too_large');
        assert.equal((await s.state()).messages, 0);
      } finally {
        await edge.close();
      }
    });
  });

  it('will not use a stream that is not a Tessera log', async (t) => {
    await withStream(t, async (s) => {
      const nc = await connect({ servers: s.settings.servers });
      try {
        const jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: s.settings.stream, subjects: [`someone.else.${s.settings.stream}`] });
      } finally {
        await nc.close();
      }
      await assert.rejects(
        NatsEventLog.open(s.settings, { name: 'test-edge', keys: s.keys }),
        new RegExp(`without the subject ${subjectOf(s.settings.stream)}`),
      );
    });
  });
});
