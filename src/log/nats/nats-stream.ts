/**
 * The NATS side of the durable log that edge and reader share: the stream's one subject and its creation,
 * and how a log entry travels as a NATS message (the body sealed as payload, the rest in headers).
 */
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type JsMsg,
  type StreamConfig,
} from '@nats-io/jetstream';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import type { LogBackend } from '../../config/config.ts';
import type { EventType } from '../../core/event/event.ts';
import type { LogEntry, LogRecord } from '../event-log.ts';
import { openBody } from './log-cipher.ts';

export type NatsLogSettings = Extract<LogBackend, { kind: 'nats' }>;

/** The stream's one subject. */
export const subjectOf = (stream: string) => `tessera.log.${stream}`;

export const HEADER = {
  source: 'Tessera-Source',
  receivedAt: 'Tessera-Received-At',
  typeHint: 'Tessera-Type-Hint',
  shape: 'Tessera-Shape',
  messages: 'Tessera-Messages',
  /** The key that sealed the body (`log-keyring.ts`); absent on entries written before entries were sealed. */
  key: 'Tessera-Key',
} as const;

/** The stream's duplicate window: a re-sent append within it is recognised (ns). */
const DUPLICATE_WINDOW_NS = 120 * 1_000_000_000;

/** An entry's metadata as the headers of its message, with the id of the key that seals its body. */
export function headersOf(entry: LogEntry, keyId: string): MsgHdrs {
  const h = headers();
  h.set(HEADER.key, keyId);
  h.set(HEADER.source, entry.sourceId);
  h.set(HEADER.receivedAt, String(entry.receivedAt));
  h.set(HEADER.shape, entry.shape);
  h.set(HEADER.messages, String(entry.messages));
  if (entry.typeHint !== null) h.set(HEADER.typeHint, entry.typeHint);
  return h;
}

/** The id of the key that sealed a message's body, or null for a plain (older) entry. */
export function keyIdOf(m: JsMsg): string | null {
  const id = m.headers?.get(HEADER.key);
  return id === undefined || id === '' ? null : id;
}

/**
 * A message of the stream as the log record it carries, its body opened with `secret` (the key its
 * `keyIdOf` names; null when that key is gone). A body that cannot be opened makes an `unreadable` record.
 */
export function recordOf(m: JsMsg, secret: Buffer | null): LogRecord {
  const h = m.headers;
  const shape = h?.get(HEADER.shape);
  const typeHint = h?.get(HEADER.typeHint);
  const keyId = keyIdOf(m);
  let body: string | null = keyId === null ? m.string() : null;
  let unreadable: string | undefined;
  if (keyId !== null) {
    body = secret === null ? null : openBody(m.data, secret);
    if (body === null) {
      unreadable =
        secret === null
          ? `log entry ${m.seq}: its key ${keyId} is no longer in the store`
          : `log entry ${m.seq}: its body does not open with key ${keyId} (altered or damaged)`;
    }
  }
  return {
    seq: m.seq,
    sourceId: h?.get(HEADER.source) ?? '',
    receivedAt: Number(h?.get(HEADER.receivedAt)) || m.info.timestampNanos / 1e6,
    typeHint: typeHint === undefined || typeHint === '' ? null : (typeHint as EventType),
    shape: shape === 'single' || shape === 'command' ? shape : 'batch',
    body: body ?? '',
    messages: Number(h?.get(HEADER.messages)) || 0,
    ...(unreadable !== undefined ? { unreadable } : {}),
  };
}

/** The stream, created if missing; its cap and replicas kept as configured. Answers its creation time (part of the log's id). */
export async function ensureStream(jsm: JetStreamManager, settings: NatsLogSettings): Promise<string> {
  const wanted: Partial<StreamConfig> & { name: string } = {
    name: settings.stream,
    subjects: [subjectOf(settings.stream)],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    max_bytes: settings.maxBytes,
    num_replicas: settings.replicas,
    duplicate_window: DUPLICATE_WINDOW_NS,
  };
  for (let attempt = 0; ; attempt++) {
    try {
      const info = await jsm.streams.info(settings.stream);
      const c = info.config;
      if (!c.subjects?.includes(subjectOf(settings.stream))) {
        throw new Error(
          `NATS stream ${settings.stream} exists without the subject ${subjectOf(settings.stream)}: it is not a Tessera log; choose another TESSERA_NATS_STREAM`,
        );
      }
      if (c.max_bytes !== settings.maxBytes || c.num_replicas !== settings.replicas || c.discard !== DiscardPolicy.New) {
        await jsm.streams.update(settings.stream, {
          ...c,
          max_bytes: settings.maxBytes,
          num_replicas: settings.replicas,
          discard: DiscardPolicy.New,
        });
      }
      return info.created;
    } catch (err) {
      const missing = err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
      if (!missing || attempt > 2) throw err;
      // Two instances starting at once may both try: one creates it, the other reads it on the next turn.
      await jsm.streams.add(wanted).catch(() => undefined);
    }
  }
}
