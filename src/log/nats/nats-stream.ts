/**
 * The NATS side of the durable log that edge and reader share: the stream's one subject and its creation,
 * and how a log entry travels as a NATS message (the body as payload, the rest in headers).
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

export type NatsLogSettings = Extract<LogBackend, { kind: 'nats' }>;

/** The stream's one subject. */
export const subjectOf = (stream: string) => `tessera.log.${stream}`;

export const HEADER = {
  source: 'Tessera-Source',
  receivedAt: 'Tessera-Received-At',
  typeHint: 'Tessera-Type-Hint',
  shape: 'Tessera-Shape',
  messages: 'Tessera-Messages',
} as const;

/** The stream's duplicate window: a re-sent append within it is recognised (ns). */
const DUPLICATE_WINDOW_NS = 120 * 1_000_000_000;

/** An entry's metadata as the headers of its message. */
export function headersOf(entry: LogEntry): MsgHdrs {
  const h = headers();
  h.set(HEADER.source, entry.sourceId);
  h.set(HEADER.receivedAt, String(entry.receivedAt));
  h.set(HEADER.shape, entry.shape);
  h.set(HEADER.messages, String(entry.messages));
  if (entry.typeHint !== null) h.set(HEADER.typeHint, entry.typeHint);
  return h;
}

/** A message of the stream as the log record it carries. */
export function recordOf(m: JsMsg): LogRecord {
  const h = m.headers;
  const shape = h?.get(HEADER.shape);
  const typeHint = h?.get(HEADER.typeHint);
  return {
    seq: m.seq,
    sourceId: h?.get(HEADER.source) ?? '',
    receivedAt: Number(h?.get(HEADER.receivedAt)) || m.info.timestampNanos / 1e6,
    typeHint: typeHint === undefined || typeHint === '' ? null : (typeHint as EventType),
    shape: shape === 'single' || shape === 'command' ? shape : 'batch',
    body: m.string(),
    messages: Number(h?.get(HEADER.messages)) || 0,
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
