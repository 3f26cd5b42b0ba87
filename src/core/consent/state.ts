/**
 * A profile's consent, per purpose, and the append-only history of the choices that made it.
 *
 * Ordering rule: a choice is placed by the time it was made (`proof.at`), not the time it reached us.
 * A late, older change goes into the history but does not override a newer one. Two choices made at
 * the same instant: a refusal beats a grant, and otherwise a fixed order of their content decides, so
 * the outcome never depends on arrival order. A refusal after a grant is recorded as `revoked`.
 *
 * `expired` is never stored: a grant with `expiresAt <= now` reads as expired when deciding.
 */

/** Where a choice was recorded. */
export const CONSENT_SOURCES = ['event', 'import', 'api', 'sms', 'link'] as const;
export type ConsentSource = (typeof CONSENT_SOURCES)[number];

/** Evidence of a choice: when, where, and the wording agreed to. Enough to answer a regulator. */
export interface ConsentProof {
  readonly source: ConsentSource;
  /** The Tessera source (write key) the choice came through. */
  readonly sourceId?: string;
  readonly eventMessageId?: string;
  /** Who recorded it by hand (API, import). */
  readonly operator?: string;
  /** When the person made the choice, ms since the epoch. */
  readonly at: number;
  readonly ip?: string;
  readonly userAgent?: string;
  /** Version of the consent text shown. */
  readonly textVersion?: string;
}

/** What a person said about one purpose. */
export type ConsentChoice = 'granted' | 'denied';

export interface ConsentChange {
  readonly purpose: string;
  readonly choice: ConsentChoice;
  readonly proof: ConsentProof;
  /** A grant stops counting at this instant. Ignored on a denial. */
  readonly expiresAt?: number;
  /**
   * True when the choice was merely carried on an ordinary event (every page view repeats the banner
   * state). Such a change is recorded only when it says something new, so history does not grow per hit.
   */
  readonly observed?: boolean;
}

export const CONSENT_STATUSES = ['granted', 'denied', 'revoked', 'expired'] as const;
export type ConsentStatus = (typeof CONSENT_STATUSES)[number];
/** The statuses that are stored; `expired` is derived from `expiresAt` and the decision time. */
export type RecordedStatus = Exclude<ConsentStatus, 'expired'>;

/** The current state of one purpose: the winning change, read as a status. */
export interface PurposeConsent {
  readonly purpose: string;
  readonly status: RecordedStatus;
  readonly proof: ConsentProof;
  readonly expiresAt?: number;
}

/** A profile's consent. Plain JSON-friendly data; `history` is ordered by `proof.at`. */
export interface ConsentState {
  readonly purposes: Readonly<Record<string, PurposeConsent>>;
  readonly history: readonly ConsentChange[];
  /**
   * The latest observed (carried) choice per purpose, whether `history` recorded it or not. An observed
   * choice that repeated the status in force when it arrived is not recorded; if an older change arrives
   * later and alters what was in force at its time, this one says something new after all and is recorded
   * then. Without it the decision would depend on arrival order (see `applyConsentChange`).
   */
  readonly observed?: Readonly<Record<string, ConsentChange>>;
}

export const EMPTY_CONSENT: ConsentState = { purposes: {}, history: [] };

/** The recorded state of a purpose, or `undefined` when the profile never chose. */
export function purposeConsent(state: ConsentState, purpose: string): PurposeConsent | undefined {
  return Object.hasOwn(state.purposes, purpose) ? state.purposes[purpose] : undefined;
}

/** The status as of `now`: a grant whose `expiresAt` has passed reads as `expired`. */
export function statusAt(consent: PurposeConsent, now: number): ConsentStatus {
  if (consent.status === 'granted' && consent.expiresAt !== undefined && consent.expiresAt <= now) return 'expired';
  return consent.status;
}

/** Restrictiveness: a refusal outranks a grant. */
export function restrictiveness(status: RecordedStatus | ConsentChoice): number {
  return status === 'granted' ? 0 : 1;
}

/** A stable text identity of a change: equal keys mean the same choice seen twice (a replayed event). */
export function changeKey(c: ConsentChange): string {
  const p = c.proof;
  return JSON.stringify([
    c.purpose,
    c.choice,
    p.at,
    p.source,
    p.sourceId ?? null,
    p.eventMessageId ?? null,
    p.operator ?? null,
    p.ip ?? null,
    p.userAgent ?? null,
    p.textVersion ?? null,
    c.choice === 'granted' ? (c.expiresAt ?? null) : null,
    c.observed === true,
  ]);
}

/** The change a purpose's current state came from (`observed` does not matter for ordering). */
export function asChange(c: PurposeConsent): ConsentChange {
  const choice: ConsentChoice = c.status === 'granted' ? 'granted' : 'denied';
  return c.expiresAt === undefined
    ? { purpose: c.purpose, choice, proof: c.proof }
    : { purpose: c.purpose, choice, proof: c.proof, expiresAt: c.expiresAt };
}

/** Total order of changes: time, then refusal over grant, then content. Positive when `a` wins. */
export function compareChanges(a: ConsentChange, b: ConsentChange): number {
  if (a.proof.at !== b.proof.at) return a.proof.at - b.proof.at;
  const r = restrictiveness(a.choice) - restrictiveness(b.choice);
  if (r !== 0) return r;
  const ka = changeKey(a);
  const kb = changeKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Insert keeping time order; identical changes (same key) are kept once. */
export function insertChange(history: readonly ConsentChange[], change: ConsentChange): readonly ConsentChange[] {
  const key = changeKey(change);
  // The full key only for changes of the same purpose, choice and instant: most of a history differs there.
  const same = (h: ConsentChange) => h.proof.at === change.proof.at && h.purpose === change.purpose && h.choice === change.choice;
  if (history.some((h) => same(h) && changeKey(h) === key)) return history;
  let i = history.length;
  while (i > 0 && compareChanges(history[i - 1] as ConsentChange, change) > 0) i--;
  return [...history.slice(0, i), change, ...history.slice(i)];
}

/**
 * Record one change. Pure: returns a new state. The change joins the history unless it is a replay
 * of one already there, or an `observed` change that repeats the status in force at its time. It
 * becomes the purpose's state only when it wins against the current one (see the ordering rule above).
 *
 * The purpose's latest observed choice is kept (`ConsentState.observed`) and judged again after every
 * change: a late, older change (an import, a delayed event) that alters what was in force at its time
 * makes it count, as it would have had it arrived first. So a refusal on the banner after a grant is
 * never lost to the order in which they reached Tessera.
 */
export function applyConsentChange(state: ConsentState, change: ConsentChange): ConsentState {
  let next = record(state, change);
  if (change.observed === true) {
    const last = next.observed?.[change.purpose];
    if (last === undefined || compareChanges(change, last) > 0)
      next = { ...next, observed: { ...next.observed, [change.purpose]: change } };
  }
  const latest = next.observed?.[change.purpose];
  return latest === undefined || latest === change ? next : record(next, latest);
}

function record(state: ConsentState, change: ConsentChange): ConsentState {
  const current = purposeConsent(state, change.purpose);
  if (change.observed === true && current !== undefined && repeats(current, change)) return state;
  const history = insertChange(state.history, change);
  if (history === state.history) return state;
  const observed = state.observed === undefined ? {} : { observed: state.observed };
  if (current !== undefined && compareChanges(change, asChange(current)) <= 0) {
    // A late, older grant does not override, but it turns a later refusal into a revocation.
    if (current.status !== 'denied' || change.choice !== 'granted') return { purposes: state.purposes, history, ...observed };
    return { purposes: { ...state.purposes, [change.purpose]: { ...current, status: 'revoked' } }, history, ...observed };
  }
  const next: PurposeConsent = {
    purpose: change.purpose,
    status: statusAfter(history, change),
    proof: change.proof,
    ...(change.choice === 'granted' && change.expiresAt !== undefined ? { expiresAt: change.expiresAt } : {}),
  };
  return { purposes: { ...state.purposes, [change.purpose]: next }, history, ...observed };
}

/**
 * Apply several changes in any order. The decision (each purpose's status) does not depend on the
 * order; without observed changes, neither does anything else. With them, the history records the
 * observed choices that said something new when they arrived, so it may hold a later one of a run.
 */
export function applyConsentChanges(state: ConsentState, changes: readonly ConsentChange[]): ConsentState {
  return changes.reduce(applyConsentChange, state);
}

/** An observed change says nothing new when it agrees with the status in force at its own time. */
function repeats(current: PurposeConsent, change: ConsentChange): boolean {
  if (change.proof.at < current.proof.at) return false;
  const status = statusAt(current, change.proof.at);
  return change.choice === 'granted' ? status === 'granted' : status === 'denied' || status === 'revoked';
}

/** A refusal is a revocation when the same purpose was granted earlier. */
function statusAfter(history: readonly ConsentChange[], change: ConsentChange): RecordedStatus {
  if (change.choice === 'granted') return 'granted';
  const grantedBefore = history.some((h) => h.purpose === change.purpose && h.choice === 'granted' && compareChanges(h, change) < 0);
  return grantedBefore ? 'revoked' : 'denied';
}
