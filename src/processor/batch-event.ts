/**
 * A kept event on its way into its micro-batch's transaction: what the store writes (`EventToStore`) and
 * what identity resolution reads. The message object is kept only for the events whose resolution reads
 * it; the others carry their header, their JSON text and the identifiers the collection gate extracted.
 *
 * Why: a micro-batch is alive from its decoding to its commit, so every object it holds is copied by the
 * processor thread's young-generation collections, usually twice (to the other semi-space, then to the
 * old generation). A message is dozens of small objects and strings; track, page and screen events, most
 * of the traffic, need none of them once the gate has decided. Letting them go after the gate halves what
 * a prepared batch holds (about 1.4 KB an event instead of 2.6; docs/benchmarks-history.md, session 21).
 */
import { headerOf, type EventType, type JsonObject, type TrackedEvent } from '../core/event/event.ts';
import type { ExtractedIdentifiers } from '../core/identity/identifiers.ts';
import type { EventToStore } from '../storage/store.ts';
import type { DecodedEvent } from './event-gate.ts';

export interface BatchEvent extends EventToStore {
  /** Its identifiers, when the collection gate extracted them from this very event with identity's phone region. */
  readonly extracted: ExtractedIdentifiers | undefined;
  /** The message, when identity resolution reads it (see `resolutionReadsMessage`); else undefined. */
  readonly message: JsonObject | undefined;
}

/**
 * Whether resolving an event of this type reads its message beyond the identifiers: identify and group
 * write traits, and an alias's `previousId` is typed by what the graph knows at its turn.
 */
export function resolutionReadsMessage(type: EventType): boolean {
  return type === 'identify' || type === 'group' || type === 'alias';
}

/** The batch form of a kept event; `extracted`: what the gate extracted from it, if anything. */
export function toBatchEvent(e: DecodedEvent, extracted: ExtractedIdentifiers | undefined): BatchEvent {
  const keepMessage = extracted === undefined || resolutionReadsMessage(e.event.type);
  // Every field set, in one order: one object shape for the whole batch.
  return {
    event: headerOf(e.event),
    payload: e.payload,
    ident: null,
    restricted: e.restricted === true,
    extracted,
    message: keepMessage ? e.event.message : undefined,
  };
}

/** The whole event again, for the steps that read its message; only for events that kept it. */
export function trackedEventOf(e: BatchEvent): TrackedEvent {
  if (e.message === undefined) throw new Error(`event ${e.event.messageId}: its message was let go before identity resolution read it`);
  return { ...e.event, message: e.message };
}
