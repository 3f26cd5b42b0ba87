/** The shapes of events once Tessera has accepted and normalised them. Plain data only. */

export const EVENT_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(v: unknown): v is EventType {
  return typeof v === 'string' && (EVENT_TYPES as readonly string[]).includes(v);
}

/** The browser SDK posts to `/v1/t`, `/v1/i`, …: the first letter of the type. */
export const TYPE_BY_LETTER: Record<string, EventType> = {
  i: 'identify',
  t: 'track',
  p: 'page',
  s: 'screen',
  g: 'group',
  a: 'alias',
};

/** A JSON object as it came off the wire. */
export type JsonObject = Record<string, unknown>;

/** What the store and identity resolution read of an accepted message: every field but the message itself. */
export interface EventHeader {
  sourceId: string;
  messageId: string;
  type: EventType;
  /** `event` for track, `name` for page and screen, otherwise null. */
  name: string | null;
  userId: string | null;
  anonymousId: string | null;
  /** Event time in ms since the epoch, after clock-skew correction. */
  timestamp: number;
  /** Server clock when the request arrived, ms since the epoch. */
  receivedAt: number;
}

/** One accepted, normalised message. `message` is the full Segment-shaped payload as stored. */
export interface TrackedEvent extends EventHeader {
  message: JsonObject;
}

/** An event's header alone: a new object, so that the message it came with can be let go. */
export function headerOf(e: EventHeader): EventHeader {
  return {
    sourceId: e.sourceId,
    messageId: e.messageId,
    type: e.type,
    name: e.name,
    userId: e.userId,
    anonymousId: e.anonymousId,
    timestamp: e.timestamp,
    receivedAt: e.receivedAt,
  };
}

/** Why a message was not accepted. A closed list, documented in docs/errors.md. */
export const FAILURE_REASONS = {
  not_an_object: 'The message is not a JSON object.',
  unknown_type: 'The message has no `type`, or one that is not identify, track, page, screen, group or alias.',
  missing_identity: 'Neither `userId` nor `anonymousId` is a non-empty string or number.',
  missing_event_name: 'A track message without a non-empty string `event`.',
  missing_group_id: 'A group message without `groupId`.',
  missing_previous_id: 'An alias message without `previousId`.',
  invalid_field: 'A field has the wrong type (e.g. `properties`, `traits` or `context` not an object).',
  invalid_message_id: '`messageId` is not a string, or longer than 100 characters.',
  invalid_timestamp: 'A time field (`timestamp`, `originalTimestamp`, `sentAt`) is not a valid ISO-8601 date.',
  message_too_large: 'The message is larger than the per-message size limit.',
  too_deep: 'The message nests objects or arrays deeper than the configured limit.',
  unreadable_entry:
    'A durable log entry could not be read back (on NATS: the key that sealed it is no longer in the store, or the payload was altered); its messages are lost.',
} as const;
export type FailureReason = keyof typeof FAILURE_REASONS;

/** A message that could not be accepted, kept with its original payload so it can be inspected and replayed. */
export interface FailedEvent {
  sourceId: string;
  receivedAt: number;
  reason: FailureReason;
  detail: string;
  messageId: string | null;
  /** The message as received (JSON text), cut at a size limit when huge. */
  payload: string;
}
