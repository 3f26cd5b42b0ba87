/**
 * The consent choices one event carried, as text for the consent inbox (written by the processor,
 * applied by the consent follower). Every change an event carries shares the event's proof, and a
 * proof holds the IP address and the whole user agent, so the proof is written once for all of them:
 * `{"proof":{…},"choices":[{"purpose","choice","expiresAt"?,"observed"?},…]}`. That is about a third of
 * a plain array of changes for a typical banner of four purposes, and the inbox takes a row for every
 * event that carries consent (with analytics.js's consent wrapper, every event). Changes that do not
 * share one proof are written as that plain array, which is also what earlier versions wrote: `decode`
 * reads both.
 */
import type { ConsentChange, ConsentProof } from './state.ts';

interface CarriedChoice {
  purpose: string;
  choice: ConsentChange['choice'];
  expiresAt?: number;
  observed?: boolean;
}

export function encodeCarriedChanges(changes: readonly ConsentChange[]): string {
  const first = changes[0];
  if (first === undefined || changes.some((c) => c.proof !== first.proof)) return JSON.stringify(changes);
  const choices = changes.map((c): CarriedChoice => ({
    purpose: c.purpose,
    choice: c.choice,
    ...(c.expiresAt !== undefined ? { expiresAt: c.expiresAt } : {}),
    ...(c.observed !== undefined ? { observed: c.observed } : {}),
  }));
  return JSON.stringify({ proof: first.proof, choices });
}

export function decodeCarriedChanges(text: string): ConsentChange[] {
  const parsed = JSON.parse(text) as ConsentChange[] | { proof: ConsentProof; choices: CarriedChoice[] };
  if (Array.isArray(parsed)) return parsed;
  const { proof } = parsed;
  // The same key order as `consentChangesOf` builds: stored histories are byte-for-byte what they were.
  return parsed.choices.map((c) => ({
    purpose: c.purpose,
    choice: c.choice,
    proof,
    ...(c.expiresAt !== undefined ? { expiresAt: c.expiresAt } : {}),
    ...(c.observed !== undefined ? { observed: c.observed } : {}),
  }));
}
