/** Test events in the domain's words: `anIdentify({ userId: 'u1', traits: { email: 'a@x.io' } })`. */
import type { EventType, JsonObject, TrackedEvent } from '../../../src/core/event/event.ts';

export const T0 = Date.UTC(2024, 0, 1);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export interface EventInput {
  userId?: string | null;
  anonymousId?: string | null;
  previousId?: string;
  groupId?: string;
  event?: string;
  traits?: JsonObject;
  context?: JsonObject;
  /** Event time; defaults to T0. */
  at?: number;
  messageId?: string;
  sourceId?: string;
}

let counter = 0;

export function anEvent(type: EventType, input: EventInput = {}): TrackedEvent {
  const at = input.at ?? T0;
  const messageId = input.messageId ?? `m-${++counter}`;
  const userId = input.userId ?? null;
  const anonymousId = input.anonymousId ?? null;
  const message: JsonObject = { type, messageId, timestamp: new Date(at).toISOString() };
  if (userId !== null) message.userId = userId;
  if (anonymousId !== null) message.anonymousId = anonymousId;
  if (input.previousId !== undefined) message.previousId = input.previousId;
  if (input.groupId !== undefined) message.groupId = input.groupId;
  if (input.event !== undefined) message.event = input.event;
  if (input.traits !== undefined) message.traits = input.traits;
  if (input.context !== undefined) message.context = input.context;
  const name = type === 'track' ? (input.event ?? 'Something Happened') : null;
  return { sourceId: input.sourceId ?? 'web', messageId, type, name, userId, anonymousId, timestamp: at, receivedAt: at, message };
}

export const anIdentify = (input: EventInput): TrackedEvent => anEvent('identify', input);
export const aTrack = (input: EventInput): TrackedEvent => anEvent('track', { event: 'Page Viewed', ...input });
export const anAlias = (input: EventInput): TrackedEvent => anEvent('alias', input);
export const aGroup = (input: EventInput): TrackedEvent => anEvent('group', input);
