/**
 * The collection gate: the processor's first step after decoding, before de-duplication and identity.
 * Privacy enforcement plugs in here (collection policies per source, consent carried on the event,
 * suppression of erased subjects): each event is kept as it is, kept transformed (fields removed or
 * hashed, identifiers dropped), kept but restricted (stored, not used for segments or activation), or
 * dropped. Every decision is counted. A gate is pure per event: replaying a batch decides the same way.
 */
import type { CountryCode } from 'libphonenumber-js';
import type { EventHeader, TrackedEvent } from '../core/event/event.ts';
import type { ExtractedIdentifiers } from '../core/identity/identifiers.ts';
import type { ConsentInboxEntry } from '../storage/store.ts';

/** A message decoded from the log: the normalised event, with its message as an object, and its stored JSON. */
export interface DecodedEvent {
  event: TrackedEvent;
  payload: string;
  /** Stored but restricted by a collection policy: kept for the record, never used for segments or activation. */
  restricted?: boolean;
}

/** The consent inbox key of an event (`ConsentInboxEntry.dedupKey`): unique per event, so a re-sent event adds nothing. */
export function consentInboxKey(e: { event: EventHeader }): string {
  return JSON.stringify([e.event.sourceId, e.event.messageId]);
}

export interface GateResult {
  /** Events to store, in their order; a transformed event is a new object (inputs are not mutated). */
  kept: DecodedEvent[];
  /** Dropped events by reason (e.g. `suppressed`, `policy_drop`). */
  dropped: Record<string, number>;
  /** What was done to kept events, by decision (e.g. `anonymise`, `hash:properties.email`, `restrict`). */
  decisions: Record<string, number>;
  /** Consent choices the batch's events carry (kept or not), to be written with the batch. */
  consentInbox?: ConsentInboxEntry[];
  /**
   * The identifiers the gate extracted from a kept event it did not change, when it extracted them with
   * this default phone region (and no graph state), so that identity resolution need not do it again.
   * Belongs to this result: the gate may already be deciding the next batch while this one commits.
   */
  extractedOf?(event: DecodedEvent, region: CountryCode): ExtractedIdentifiers | undefined;
}

export interface EventGate {
  /**
   * Before each micro-batch, outside its transaction: pick up changed policies or suppression lists, and
   * load what deciding on `batch` needs (e.g. the stored consent of the people it names).
   */
  refresh(batch: readonly DecodedEvent[]): Promise<void>;
  apply(events: readonly DecodedEvent[]): GateResult;
}
