/**
 * Consent when identity merges two profiles into one.
 *
 * Merge rule (per purpose):
 * 1. Both profiles recorded a state: the more restrictive one wins. `denied` and `revoked` beat
 *    `granted`; a merge never turns a refusal into a grant. Between two refusals, or two grants, the
 *    later choice wins (a grant keeps its own proof and expiry); at the same instant a fixed order of
 *    their content decides.
 * 2. Only one profile recorded a state: it is kept as it is, grants included. The other side made no
 *    choice (typically an anonymous visitor merged into a known person); dropping the grant would
 *    silently un-consent people on every login. Absence is not a refusal: defaults still apply
 *    through `mayUse` for purposes neither side recorded.
 * 3. Histories are concatenated in time order; a change present in both is kept once. The latest
 *    observed choices (`ConsentState.observed`) are not carried: judged again later, one side's banner
 *    grant could undo the refusal rule 1 kept.
 * The rule is commutative (`merge(a, b)` equals `merge(b, a)`), so the outcome does not depend on
 * which profile survives the merge. Channel subscriptions follow the same rule per contact point.
 */
import { asChange, compareChanges, insertChange, restrictiveness, type ConsentState, type PurposeConsent } from './state.ts';

/** Merge the consent of two profiles that identity found to be one person. */
export function mergeConsents(a: ConsentState, b: ConsentState): ConsentState {
  const purposes: Record<string, PurposeConsent> = {};
  const ids = [...new Set([...Object.keys(a.purposes), ...Object.keys(b.purposes)])].sort();
  for (const id of ids) {
    const x = Object.hasOwn(a.purposes, id) ? a.purposes[id] : undefined;
    const y = Object.hasOwn(b.purposes, id) ? b.purposes[id] : undefined;
    const winner = x === undefined ? y : y === undefined ? x : stricter(x, y);
    if (winner !== undefined) purposes[id] = winner;
  }
  // Insert the shorter history into the longer; insertion sorts and deduplicates.
  const [long, short] = a.history.length >= b.history.length ? [a.history, b.history] : [b.history, a.history];
  const history = short.reduce(insertChange, long);
  return { purposes, history };
}

/** Restrictiveness first, then the later (or, at the same instant, the greater) choice. */
function stricter(x: PurposeConsent, y: PurposeConsent): PurposeConsent {
  const r = restrictiveness(x.status) - restrictiveness(y.status);
  if (r !== 0) return r > 0 ? x : y;
  const c = compareChanges(asChange(x), asChange(y));
  if (c !== 0) return c > 0 ? x : y;
  // Same change content: prefer `revoked`, which says strictly more than `denied`.
  return x.status === 'revoked' ? x : y;
}
