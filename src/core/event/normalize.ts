/**
 * Validate and normalise one Segment message: the pure step between "bytes the edge made durable" and
 * "an event the store can keep". Each message is judged on its own, so one bad message never fails
 * its batch.
 */
import {
  EVENT_TYPES,
  isEventType,
  type EventType,
  type FailedEvent,
  type FailureReason,
  type JsonObject,
  type TrackedEvent,
} from './event.ts';

export interface NormalizeContext {
  sourceId: string;
  receivedAt: number;
  /** `receivedAt` as an ISO-8601 string, computed once per request rather than per message. */
  receivedAtIso: string;
  /** Batch-level `context`, merged under each message's own. */
  batchContext: JsonObject | undefined;
  /** Batch-level `integrations`, merged under each message's own. */
  batchIntegrations: JsonObject | undefined;
  /** Batch-level `sentAt`, used when the message has none of its own. */
  batchSentAt: unknown;
  /** The type implied by the path (`/v1/track`, `/v1/t`), used when the message has no `type`. */
  typeHint: EventType | null;
  /** A deterministic id for a message that has none (replaying the log yields the same id). */
  fallbackMessageId: string;
  maxMessageBytes: number;
  maxDepth: number;
}

/** `payload` is the stored JSON text of `event.message`, produced once here so its size is checked exactly. */
export type NormalizeResult = { ok: true; event: TrackedEvent; payload: string } | { ok: false; failed: FailedEvent };

const MAX_FAILED_PAYLOAD_CHARS = 65_536;
const OBJECT_FIELDS = ['properties', 'traits', 'context', 'integrations'] as const;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A non-empty id as a string; numbers are accepted and stringified, as Segment does. */
function idOf(v: unknown): string | null {
  if (typeof v === 'string') return v.length > 0 ? v : null;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

/** Depth of nesting, stopping as soon as it passes `limit` (so a hostile message costs little). */
function deeperThan(value: unknown, limit: number): boolean {
  if (limit < 0) return true;
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (deeperThan(item, limit - 1)) return true;
    return false;
  }
  for (const key in value) if (deeperThan((value as JsonObject)[key], limit - 1)) return true;
  return false;
}

/** Parse an ISO-8601 time field; undefined when absent, NaN when present but invalid. */
function timeOf(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' && !(typeof v === 'number')) return Number.NaN;
  const t = typeof v === 'number' ? v : Date.parse(v);
  return Number.isFinite(t) ? t : Number.NaN;
}

function safeStringify(value: unknown): string {
  try {
    const text = JSON.stringify(value) ?? 'null';
    return text.length > MAX_FAILED_PAYLOAD_CHARS ? text.slice(0, MAX_FAILED_PAYLOAD_CHARS) : text;
  } catch {
    return '"<unserialisable: nested too deeply>"';
  }
}

/**
 * Resolve the event time. Rules (Segment's): an explicit `timestamp` is the event time (server
 * libraries set it, historical imports rely on it); otherwise, when the client sent `sentAt`, correct its
 * clock skew: `receivedAt − (sentAt − originalTimestamp)`; otherwise `receivedAt`.
 */
function eventTime(msg: JsonObject, ctx: NormalizeContext): number | FailureReason {
  const timestamp = timeOf(msg.timestamp);
  const original = timeOf(msg.originalTimestamp);
  const sentAt = timeOf(msg.sentAt ?? ctx.batchSentAt);
  if (Number.isNaN(timestamp) || Number.isNaN(original) || Number.isNaN(sentAt)) return 'invalid_timestamp';
  if (timestamp !== undefined) return timestamp;
  if (original !== undefined) return sentAt !== undefined ? ctx.receivedAt - (sentAt - original) : original;
  return ctx.receivedAt;
}

export function normalizeMessage(raw: unknown, ctx: NormalizeContext): NormalizeResult {
  const fail = (reason: FailureReason, detail: string, messageId: string | null = null): NormalizeResult => ({
    ok: false,
    failed: {
      sourceId: ctx.sourceId,
      receivedAt: ctx.receivedAt,
      reason,
      detail,
      messageId: messageId?.replaceAll('\u0000', '\uFFFD') ?? null,
      payload: safeStringify(raw),
    },
  });
  if (!isObject(raw)) return fail('not_an_object', `expected a JSON object, got ${Array.isArray(raw) ? 'an array' : typeof raw}`);
  if (deeperThan(raw, ctx.maxDepth)) return fail('too_deep', `nested deeper than ${ctx.maxDepth} levels`);

  const rawId = raw.messageId;
  if (rawId !== undefined && rawId !== null && (typeof rawId !== 'string' || rawId.length > 100 || rawId.length === 0)) {
    return fail('invalid_message_id', 'messageId must be a non-empty string of at most 100 characters');
  }
  let messageId = typeof rawId === 'string' ? rawId : ctx.fallbackMessageId;

  const type = raw.type ?? ctx.typeHint;
  if (!isEventType(type)) {
    return fail('unknown_type', `type must be one of ${EVENT_TYPES.join(', ')}; got ${JSON.stringify(raw.type ?? null)}`, messageId);
  }
  let userId = idOf(raw.userId);
  let anonymousId = idOf(raw.anonymousId);
  if (userId === null && anonymousId === null) return fail('missing_identity', 'a message needs a userId or an anonymousId', messageId);
  for (const field of OBJECT_FIELDS) {
    const v = raw[field];
    if (v !== undefined && v !== null && !isObject(v)) return fail('invalid_field', `${field} must be an object`, messageId);
  }
  let name: string | null = null;
  if (type === 'track') {
    if (typeof raw.event !== 'string' || raw.event.trim() === '')
      return fail('missing_event_name', 'a track message needs a non-empty string event', messageId);
    name = raw.event;
  } else if (type === 'page' || type === 'screen') {
    name = typeof raw.name === 'string' ? raw.name : null;
  } else if (type === 'group' && idOf(raw.groupId) === null) {
    return fail('missing_group_id', 'a group message needs a groupId', messageId);
  } else if (type === 'alias' && idOf(raw.previousId) === null) {
    return fail('missing_previous_id', 'an alias message needs a previousId', messageId);
  }
  const timestamp = eventTime(raw, ctx);
  if (typeof timestamp === 'string') return fail(timestamp, 'timestamp, originalTimestamp and sentAt must be ISO-8601 dates', messageId);

  const message: JsonObject = { ...raw, type, messageId };
  // `delete` would turn the object into a slow dictionary; only pay for it when the key is there.
  if ('writeKey' in message) delete message.writeKey;
  if (userId !== null) message.userId = userId;
  if (anonymousId !== null) message.anonymousId = anonymousId;
  if (ctx.batchContext !== undefined) message.context = { ...ctx.batchContext, ...(raw.context as JsonObject | undefined) };
  if (ctx.batchIntegrations !== undefined)
    message.integrations = { ...ctx.batchIntegrations, ...(raw.integrations as JsonObject | undefined) };
  if (message.sentAt === undefined && ctx.batchSentAt !== undefined) message.sentAt = ctx.batchSentAt;
  message.timestamp = new Date(timestamp).toISOString();
  message.receivedAt = ctx.receivedAtIso;

  let payload = JSON.stringify(message);
  if (payload.includes('\\u0000')) {
    // PostgreSQL cannot store NUL in text or jsonb; one rule for both backends keeps them identical.
    replaceNul(message);
    payload = JSON.stringify(message);
    // The columns kept beside the payload follow the same rule.
    const clean = (v: string | null) => (v === null ? null : v.replaceAll('\u0000', '\uFFFD'));
    messageId = clean(messageId) ?? messageId;
    userId = clean(userId);
    anonymousId = clean(anonymousId);
    name = clean(name);
  }
  if (payload.length > ctx.maxMessageBytes || (payload.length * 3 > ctx.maxMessageBytes && utf8Length(payload) > ctx.maxMessageBytes)) {
    return fail('message_too_large', `the message is over the limit of ${ctx.maxMessageBytes} bytes`, messageId);
  }
  return {
    ok: true,
    event: { sourceId: ctx.sourceId, messageId, type, name, userId, anonymousId, timestamp, receivedAt: ctx.receivedAt, message },
    payload,
  };
}

/** Replace NUL characters in every string (keys included) with U+FFFD, in place. */
function replaceNul(obj: JsonObject | unknown[]): void {
  const fix = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replaceAll('\u0000', '\uFFFD');
    if (typeof v === 'object' && v !== null) replaceNul(v as JsonObject | unknown[]);
    return v;
  };
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length; i++) obj[i] = fix(obj[i]);
    return;
  }
  for (const key of Object.keys(obj)) {
    const value = fix(obj[key]);
    if (key.includes('\u0000')) {
      delete obj[key];
      obj[key.replaceAll('\u0000', '\uFFFD')] = value;
    } else obj[key] = value;
  }
}

/** Bytes of a string once encoded as UTF-8 (without allocating the encoding). */
function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
