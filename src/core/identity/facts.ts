/**
 * Identity is a log of append-only facts with provenance; profiles are a view computed from them.
 * `seq` is the fact's position in that log (assigned by whoever appends it), and breaks ties of time.
 */
import type { EventHeader } from '../event/event.ts';
import type { Identifier } from './identifiers.ts';

/** "Event `eventMessageId` from `sourceId` asserted at `at` that these identifiers belong together." */
export interface LinkFact {
  kind: 'link';
  /** All valid standardised identifiers of the event, before rules (so a rule change can be replayed). */
  identifiers: readonly Identifier[];
  eventMessageId: string;
  sourceId: string;
  /** Event time, ms since the epoch. */
  at: number;
  seq: number;
}

/**
 * An operator joined two profiles. The anchors (any identifier of each profile when the merge was
 * decided) make the fact replayable: profile ids can change in a rebuild, identifiers do not.
 */
export interface MergeFact {
  kind: 'merge';
  profileA: string;
  profileB: string;
  anchorA: Identifier;
  anchorB: Identifier;
  reason: string;
  at: number;
  seq: number;
}

/** An operator detached `identifier` (and what only it brought) from its profile; see `rebuild.ts`. */
export interface UnmergeFact {
  kind: 'unmerge';
  identifier: Identifier;
  reason: string;
  at: number;
  seq: number;
}

export type IdentityFact = LinkFact | MergeFact | UnmergeFact;

/** Where an identifier came from: the link fact that first put it in its profile. */
export interface FactRef {
  seq: number;
  eventMessageId: string;
  sourceId: string;
}

/** Canonical replay order: event time, then log position. */
export function compareFacts(a: IdentityFact, b: IdentityFact): number {
  return a.at - b.at || a.seq - b.seq;
}

/** The identifiers a fact mentions (the keys a fact store indexes it by). */
export function factIdentifiers(fact: IdentityFact): readonly Identifier[] {
  switch (fact.kind) {
    case 'link':
      return fact.identifiers;
    case 'merge':
      return [fact.anchorA, fact.anchorB];
    case 'unmerge':
      return [fact.identifier];
    default:
      return assertNever(fact);
  }
}

/** The link fact of an event, from its extracted identifiers (`extractIdentifiers(event).identifiers`). */
export function linkFactOf(event: EventHeader, identifiers: readonly Identifier[], seq: number): LinkFact {
  return { kind: 'link', identifiers, eventMessageId: event.messageId, sourceId: event.sourceId, at: event.timestamp, seq };
}

export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
