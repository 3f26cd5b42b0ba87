/**
 * The durable log the configuration names (`TESSERA_LOG_URL`): the embedded SQLite file, or a NATS
 * JetStream stream. Three roles open it:
 * - the edge (the server's main thread), which appends and, where the processor runs, truncates;
 * - the processor's reader (its own thread), which follows the log from the processor's cursor;
 * - a client (CLI commands), which only appends.
 * Each gets the (migrated) store: a NATS log keeps the keys that seal its entries there.
 */
import type { LogBackend } from '../config/config.ts';
import { openLogKeys } from '../storage/privacy/log-key-data.ts';
import type { Store } from '../storage/store.ts';
import type { EventLog } from './event-log.ts';
import { NatsEventLog } from './nats/nats-log.ts';
import { SqliteEventLog } from './sqlite/sqlite-log.ts';

export interface EdgeLog {
  log: EventLog;
  /** The SQLite log's file (for the checkpoint thread) and its writer's `unsyncedFrom` cell (for the reader); null on NATS. */
  embedded: { file: string; unsyncedFrom: SharedArrayBuffer } | null;
  /** For a processor on this thread: start reading after its cursor (a no-op on SQLite). */
  follow(afterSeq: number): void;
  /** On NATS, the keys sealing entries as the shredder last saw them (for `/metrics`); null otherwise. */
  keyStats: () => { keys: number; oldestAgeSeconds: number; shredded: number } | null;
}

export async function openEdgeLog(
  backend: LogBackend,
  store: Store,
  opts: { walAutocheckpoint?: number; onError: (err: unknown) => void },
): Promise<EdgeLog> {
  if (backend.kind === 'nats') {
    const log = await NatsEventLog.open(backend, { name: 'tessera-edge', keys: await openLogKeys(store), onError: opts.onError });
    return { log, embedded: null, follow: (afterSeq) => log.follow(afterSeq), keyStats: () => log.keyStats() };
  }
  // This thread is the log's writer: its commits are synced on the thread pool, not here (`sqlite-log.ts`).
  const log = new SqliteEventLog(backend.file, { backgroundSync: true, walAutocheckpoint: opts.walAutocheckpoint });
  return { log, embedded: { file: backend.file, unsyncedFrom: log.unsyncedFrom }, follow: () => {}, keyStats: () => null };
}

/**
 * The processor's reader. `start(afterSeq)` begins following once the processor knows its cursor (a no-op
 * on SQLite, which reads the file at each call).
 */
export async function openReaderLog(
  backend: LogBackend,
  store: Store,
  opts: { unsyncedFrom?: SharedArrayBuffer; onError: (err: unknown) => void },
): Promise<{ log: EventLog; start(afterSeq: number): void }> {
  if (backend.kind === 'nats') {
    const log = await NatsEventLog.open(backend, { name: 'tessera-processor', keys: await openLogKeys(store), onError: opts.onError });
    return { log, start: (afterSeq) => log.follow(afterSeq) };
  }
  return { log: new SqliteEventLog(backend.file, { unsyncedFrom: opts.unsyncedFrom }), start: () => {} };
}

/**
 * For the command line: operator commands append only; a direct load (no server running) also runs a
 * processor on this thread, which `follow` starts reading for.
 */
export async function openClientLog(backend: LogBackend, store: Store): Promise<{ log: EventLog; follow(afterSeq: number): void }> {
  if (backend.kind === 'nats') {
    const log = await NatsEventLog.open(backend, { name: 'tessera-cli', keys: await openLogKeys(store) });
    return { log, follow: (afterSeq) => log.follow(afterSeq) };
  }
  return { log: new SqliteEventLog(backend.file), follow: () => {} };
}
