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

/**
 * Which of one batch's carried choices to record. SDKs repeat the banner state on every event, so a
 * visitor's page views carry the same observed choices again and again. Among entries with the same
 * identifiers carrying the same observed choices (same expiries), only the earliest and the latest (by
 * when they were made) are kept; the others would change no purpose's status, whatever else changes
 * the profile's consent and in whatever order (the latest observed choice is judged again after every
 * change: `applyConsentChange`; the property test in `carried.test.ts` checks this). The earliest keeps
 * the proof of when the choice was first seen. Entries with an explicit choice are all kept.
 * Answers, for each entry, whether to keep it.
 */
export function keepCarried(entries: ReadonlyArray<{ identifiers: readonly string[]; changes: readonly ConsentChange[] }>): boolean[] {
  const keep = entries.map(() => true);
  const runs = new Map<string, number[]>();
  for (let i = 0; i < entries.length; i++) {
    const { identifiers, changes } = entries[i]!;
    const first = changes[0];
    if (first === undefined) continue;
    // The key: the identifiers, then the choices in purpose order (identifiers and purposes hold no control characters).
    let choices = '';
    let thinnable = true;
    for (const c of [...changes].sort((x, y) => (x.purpose < y.purpose ? -1 : x.purpose > y.purpose ? 1 : 0))) {
      if (c.observed !== true || c.proof.at !== first.proof.at) {
        thinnable = false;
        break;
      }
      choices += `\u0001${c.purpose}\u0002${c.choice}\u0002${c.expiresAt ?? ''}`;
    }
    if (!thinnable) continue;
    const key = `${identifiers.join('\u0003')}${choices}`;
    const run = runs.get(key);
    if (run === undefined) runs.set(key, [i]);
    else run.push(i);
  }
  const at = (i: number) => entries[i]!.changes[0]!.proof.at;
  for (const run of runs.values()) {
    if (run.length <= 2) continue;
    const byTime = [...run].sort((a, b) => at(a) - at(b) || a - b);
    for (const i of byTime.slice(1, -1)) keep[i] = false;
  }
  return keep;
}
