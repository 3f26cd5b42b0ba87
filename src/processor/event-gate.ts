/**
 * The collection gate: the processor's first step after decoding, before de-duplication and identity.
 * Privacy enforcement plugs in here (collection policies per source, consent carried on the event,
 * suppression of erased subjects): each event is kept as it is, kept transformed (fields removed or
 * hashed, identifiers dropped), kept but restricted (stored, not used for segments or activation), or
 * dropped. Every decision is counted. A gate is pure per event: replaying a batch decides the same way.
 */
import type { EventToStore } from '../storage/store.ts';

export interface GateResult {
  /** Events to store, in their order; a transformed event is a new object (inputs are not mutated). */
  kept: EventToStore[];
  /** Dropped events by reason (e.g. `suppressed`, `policy_drop`). */
  dropped: Record<string, number>;
  /** What was done to kept events, by decision (e.g. `anonymise`, `hash:properties.email`, `restrict`). */
  decisions: Record<string, number>;
}

export interface EventGate {
  /**
   * Before each micro-batch, outside its transaction: pick up changed policies or suppression lists, and
   * load what deciding on `batch` needs (e.g. the stored consent of the people it names).
   */
  refresh(batch: readonly EventToStore[]): Promise<void>;
  apply(events: readonly EventToStore[]): GateResult;
}
