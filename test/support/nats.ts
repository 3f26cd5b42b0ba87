/**
 * A private NATS JetStream stream for one test. The server is shared between runs, so each test works
 * on a stream of its own (`T_<random>`), deleted afterwards. Outside CI a missing server skips the
 * tests, loudly; in CI it is a failure. The keys that seal its entries live in a SQLite store of its own.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NatsLogSettings } from '../../src/log/nats/nats-log.ts';
import { migrateAll } from '../../src/storage/migrate-all.ts';
import { openLogKeys, type LogKeyData } from '../../src/storage/privacy/log-key-data.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';

export const NATS_TEST_URL = process.env.TESSERA_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

export interface NatsTestStream {
  settings: NatsLogSettings;
  /** Where the stream's keys are kept (a real store, in a temporary directory). */
  keys: LogKeyData;
  /** The environment that points a Tessera at this stream. */
  env: Record<string, string>;
  /** The stream's state as the server reports it. */
  state(): Promise<{ messages: number; firstSeq: number; lastSeq: number }>;
  drop(): Promise<void>;
}

async function withManager<T>(work: (jsm: Awaited<ReturnType<typeof jetstreamManager>>) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: NATS_TEST_URL.slice('nats://'.length).split(','), timeout: 5000 });
  try {
    return await work(await jetstreamManager(nc));
  } finally {
    await nc.close();
  }
}

/** A key store for a NATS log: a real SQLite store in a temporary directory, removed by `close`. */
export async function tempLogKeys(): Promise<{ keys: LogKeyData; close(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-nats-keys-'));
  const store = new SqliteStore(path.join(dir, 'store.sqlite'));
  await migrateAll(store);
  return {
    keys: await openLogKeys(store),
    close: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh stream name (not created: Tessera creates it), or null when NATS is not reachable outside CI. */
export async function natsTestStream(options: { maxBytes?: number; keyRotateMs?: number } = {}): Promise<NatsTestStream | null> {
  try {
    await withManager(async (jsm) => void (await jsm.getAccountInfo()));
  } catch (err) {
    const why = `NATS JetStream at ${NATS_TEST_URL} is not usable (${(err as Error).message})`;
    if (process.env.CI === 'true') throw new Error(`${why}; CI must provide it (set TESSERA_TEST_NATS_URL)`, { cause: err });
    console.warn(`\n*** SKIPPING NATS tests: ${why}. Start nats-server -js or set TESSERA_TEST_NATS_URL. ***\n`);
    return null;
  }
  const stream = `T_${randomBytes(6).toString('hex')}`;
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  const { keys, close } = await tempLogKeys();
  return {
    keys,
    settings: {
      kind: 'nats',
      servers: NATS_TEST_URL.slice('nats://'.length).split(','),
      stream,
      maxBytes,
      replicas: 1,
      keyRotateMs: options.keyRotateMs ?? 60_000,
      auth: null,
      tls: null,
    },
    env: { TESSERA_LOG_URL: NATS_TEST_URL, TESSERA_NATS_STREAM: stream, TESSERA_NATS_MAX_MB: String(Math.ceil(maxBytes / 1024 / 1024)) },
    state: () =>
      withManager(async (jsm) => {
        const s = (await jsm.streams.info(stream)).state;
        return { messages: s.messages, firstSeq: s.first_seq, lastSeq: s.last_seq };
      }),
    drop: async () => {
      await withManager(async (jsm) => void (await jsm.streams.delete(stream).catch(() => false)));
      await close();
    },
  };
}
