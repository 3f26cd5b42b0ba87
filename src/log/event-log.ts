/**
 * The durable log port: the ingestion edge appends accepted requests; the processor reads them in
 * order. `append` resolves only once the records are durable, which is what lets the edge answer 200.
 *
 * The embedded implementation is a SQLite file with group commit (`sqlite/sqlite-log.ts`); for edges on
 * several machines, a NATS JetStream stream (`nats/nats-log.ts`). `open-log.ts` picks one from the
 * configuration; the edge and the processor do not know which.
 */
import type { EventType } from '../core/event/event.ts';

/** One accepted ingestion request, exactly as the edge received it (parsed JSON text, inflated). */
export interface LogEntry {
  sourceId: string;
  receivedAt: number;
  /** The type implied by the path for single-message endpoints; null for batches. */
  typeHint: EventType | null;
  /**
   * `batch` when the body is `{batch: [...]}`, `single` when it is one message, `command` for an operator
   * command (merge, unmerge, …) that the processor applies in log order (its body: `ProcessorCommand`).
   */
  shape: 'batch' | 'single' | 'command';
  /** The JSON text of the body (a log may store it re-encoded, e.g. escaped to ASCII: always the same JSON value). */
  body: string;
  /** How many messages the body holds, counted by the edge (for back-pressure and metrics). */
  messages: number;
}

export interface LogRecord extends LogEntry {
  /** Position in the log, strictly increasing. */
  seq: number;
  /**
   * Set when the entry's body could not be read back (on NATS: its key is gone, or the payload was
   * altered); `body` is then empty and the processor records the entry as failed, saying why.
   */
  unreadable?: string;
}

export interface EventLog {
  /**
   * Identifies this log (a random id fixed when it was created). Log positions only mean something
   * within one log, so a processor keeps its cursor under this id: several nodes, each with its own log,
   * can share one PostgreSQL store, and a recreated log starts a fresh cursor instead of skipping entries.
   */
  readonly logId: string;
  /** Make an entry durable. Resolves with its seq after it is committed (group commit may batch many callers). */
  append(entry: LogEntry): Promise<number>;
  /**
   * Entries after `afterSeq`, in order, at most `limit` records or about `maxMessages` messages. An entry
   * stays readable until `release` (a micro-batch that failed reads it again).
   */
  read(afterSeq: number, limit: number, maxMessages: number): LogRecord[];
  /** The reader is done with entries up to `uptoSeq` (committed): a log that buffers them may let them go. */
  release(uptoSeq: number): void;
  /** Forget entries up to and including `seq` (their processing is durable). Called by the processor's node only. */
  truncate(uptoSeq: number): void;
  /**
   * Erasure: forget processed entries up to `uptoSeq` and, where the log can, the bytes they left on disk.
   * False when some could not be cleared yet (try again). `rewrite` false, for such a retry: the file was
   * already rewritten after those entries were deleted, so only what is left (a SQLite WAL) is cleared.
   */
  scrub(uptoSeq: number, rewrite?: boolean): boolean;
  /**
   * Messages appended but not yet truncated or processed past `processedSeq`, and when the oldest of them
   * arrived (on NATS, the messages are an estimate from entry counts, and the time is up to 0.5 s old).
   */
  backlog(processedSeq: number): { records: number; messages: number; oldestReceivedAt: number | null };
  /** Why appends cannot succeed now (for `/readyz`: send traffic to another edge), or null when they can. */
  unavailable(): string | null;
  /** The highest seq known to be appended (0 for an empty log). */
  headSeq(): number;
  /** Called after each durable append so a waiting reader can wake up. */
  onAppend(listener: () => void): void;
  close(): Promise<void>;
}
