/**
 * The consent follower keeps consent in step with identity and with the choices events carry.
 *
 * Each `sync()` is one exclusive transaction (serialised with the processor's commits) that:
 * 1. reads the merge log after its own cursor and the consent inbox rows whose batch the processor has
 *    committed, and applies both in the order identity made them (fact seq; at one fact, the merge first):
 *    - a merge combines the absorbed profiles' consent into the survivor by the documented merge rule
 *      (`mergeConsents`: the more restrictive state wins per purpose, never a silent grant);
 *    - an unmerge gives each new profile the refusals (not the grants) of the profile it left;
 *    - a carried choice goes to the profile its event resolved to at that moment (recorded by the
 *      processor), so choices made on two devices before their profiles merged are combined by the merge
 *      rule, whichever step they arrive in;
 *    every merge and unmerge is audited;
 * 2. applies the inbox rows whose event identity never saw (the policy dropped it, or it predates
 *    placements) to the profile holding their identifiers now; rows naming nobody (their event was
 *    dropped or anonymised, and the person is unknown) are discarded — Tessera keeps no consent about
 *    nobody;
 * 3. moves its cursor and deletes the applied rows in the same transaction (exactly once).
 * Calls are serialised in-process; across instances the transaction's locks serialise them.
 */
import { decodeCarriedChanges } from '../core/consent/carried.ts';
import { mergeConsents } from '../core/consent/merge.ts';
import { applyConsentChanges, EMPTY_CONSENT, type ConsentChange, type ConsentState } from '../core/consent/state.ts';
import type { PrivacyData } from '../storage/privacy/privacy-data.ts';
import type { PrivacyStore } from '../storage/privacy/privacy-store.ts';

const MERGE_CURSOR = 'consent.merge_log';
const BATCH = 500;

export interface SyncReport {
  merges: number;
  unmerges: number;
  applied: number;
  discarded: number;
}

/** The refusals of a consent state (what a profile detached by an unmerge inherits). */
export function refusalsOf(state: ConsentState): ConsentState {
  const purposes = Object.fromEntries(Object.entries(state.purposes).filter(([, p]) => p.status !== 'granted'));
  const kept = new Set(Object.keys(purposes));
  return { purposes, history: state.history.filter((h) => kept.has(h.purpose) && h.choice === 'denied') };
}

/**
 * What one step may apply of the merge-log entries and inbox rows it read (each list at most `limit`,
 * in order): merges and placed choices go in fact order, so both lists are cut where both are complete.
 * A full list ends at its last fact (a full inbox list at its last placed fact); what lies beyond waits
 * for the next step. Unplaced rows are not ordered by fact and are always kept.
 */
export function alignToFacts<M extends { factSeq: number }, R extends { placement: { factSeq: number } | null }>(
  entries: readonly M[],
  rows: readonly R[],
  limit: number,
): { entries: M[]; rows: R[] } {
  const placedFacts = rows.flatMap((r) => (r.placement === null ? [] : [r.placement.factSeq]));
  const cut = Math.min(
    entries.length >= limit ? entries[entries.length - 1]!.factSeq : Infinity,
    rows.length >= limit && placedFacts.length > 0 ? Math.max(...placedFacts) : Infinity,
  );
  return {
    entries: entries.filter((m) => m.factSeq <= cut),
    rows: rows.filter((r) => r.placement === null || r.placement.factSeq <= cut),
  };
}

export class ConsentFollower {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly privacy: PrivacyStore,
    private readonly now: () => number,
  ) {}

  /** Apply everything pending; resolves when done. Safe to call often: it is cheap when nothing is pending. */
  sync(): Promise<SyncReport> {
    const run = this.chain.then(() => this.drain());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async drain(): Promise<SyncReport> {
    const total: SyncReport = { merges: 0, unmerges: 0, applied: 0, discarded: 0 };
    // Most calls find nothing to do: check without taking the locks that serialise with the processor.
    if (!(await this.privacy.data.followerPending(await this.privacy.data.cursor(MERGE_CURSOR)))) return total;
    for (;;) {
      const r = await this.privacy.transaction('exclusive', (tx) => this.step(tx));
      total.merges += r.merges;
      total.unmerges += r.unmerges;
      total.applied += r.applied;
      total.discarded += r.discarded;
      if (r.merges + r.unmerges + r.applied + r.discarded + r.skipped === 0) return total;
    }
  }

  private async step(tx: PrivacyData): Promise<SyncReport & { skipped: number }> {
    const report = { merges: 0, unmerges: 0, applied: 0, discarded: 0, skipped: 0 };
    const now = this.now();
    const { entries, rows } = alignToFacts(await tx.mergeLogAfter(await tx.cursor(MERGE_CURSOR), BATCH), await tx.inboxReady(BATCH), BATCH);
    // A choice whose event identity never saw (dropped, or from before placements were kept) goes to
    // whoever holds its identifiers now.
    const unplaced = rows.filter((r) => r.placement === null);
    const owners = await tx.profilesHolding([...new Set(unplaced.flatMap((r) => r.identifiers))]);
    // Every profile the step touches is read in one query and written back at the end: the step holds
    // the lock the processor commits under, so one round trip per profile would hold up ingestion.
    const touched = [
      ...entries.flatMap((m) => [m.profileId, ...m.otherIds]),
      ...rows.flatMap((r) => (r.placement === null ? [] : [r.placement.profileId])),
      ...owners.values(),
    ];
    const consents = new ConsentWorkingSet(await tx.consents([...new Set(touched)]));

    // At one fact, the merge comes first: the event that merged is the one whose choice follows.
    const ordered = [
      ...entries.map((m) => ({ fact: m.factSeq, merge: m, row: null })),
      ...rows.flatMap((r) => (r.placement === null ? [] : [{ fact: r.placement.factSeq, merge: null, row: r }])),
    ].sort((x, y) => x.fact - y.fact || (x.merge === null ? 1 : 0) - (y.merge === null ? 1 : 0));
    for (const { merge: m, row } of ordered) {
      if (row !== null) {
        const profile = row.placement!.profileId;
        const before = consents.get(profile) ?? EMPTY_CONSENT;
        const after = applyConsentChanges(before, decodeCarriedChanges(row.changes));
        if (after !== before) consents.put(profile, after);
        report.applied++;
        continue;
      }
      if (m === null) continue;
      if (m.kind === 'unmerge') {
        report.unmerges++;
        const source = consents.get(m.profileId);
        if (source !== null) {
          const inherited = refusalsOf(source);
          for (const id of m.otherIds) {
            const own = consents.get(id);
            consents.put(id, own === null ? inherited : mergeConsents(own, inherited));
          }
        }
      } else if (m.kind === 'auto' || m.kind === 'operator_merge') {
        report.merges++;
        let survivor = consents.get(m.profileId);
        for (const absorbed of m.otherIds) {
          const other = consents.get(absorbed);
          if (other === null) continue;
          survivor = survivor === null ? other : mergeConsents(survivor, other);
          consents.delete(absorbed);
        }
        if (survivor !== null) consents.put(m.profileId, survivor);
      } else report.skipped++;
      await tx.audit({
        at: m.at,
        actor: m.actor,
        action: m.kind === 'unmerge' ? 'identity.unmerge' : 'identity.merge',
        target: m.profileId,
        detail: { kind: m.kind, otherIds: m.otherIds, reason: m.reason, mergeLogId: m.id },
      });
    }
    const last = entries[entries.length - 1];
    if (last !== undefined) await tx.setCursor(MERGE_CURSOR, last.id);

    const byProfile = new Map<string, ConsentChange[]>();
    for (const r of unplaced) {
      const profile = r.identifiers.map((k) => owners.get(k)).find((p) => p !== undefined);
      if (profile === undefined) {
        report.discarded++;
        continue;
      }
      byProfile.set(profile, [...(byProfile.get(profile) ?? []), ...decodeCarriedChanges(r.changes)]);
      report.applied++;
    }
    for (const [profile, changes] of byProfile) {
      const before = consents.get(profile) ?? EMPTY_CONSENT;
      const after = applyConsentChanges(before, changes);
      if (after !== before) consents.put(profile, after);
    }
    await tx.deleteConsents(consents.deleted());
    await tx.putConsents(consents.changed(), now);
    await tx.inboxDelete(rows.map((r) => r.id));
    return report;
  }
}

/** Profiles' consent read once, changed in memory in order, and written back once: what changed, what went. */
class ConsentWorkingSet {
  private readonly written = new Set<string>();
  private readonly removed = new Set<string>();

  constructor(private readonly states: Map<string, ConsentState>) {}

  get(profileId: string): ConsentState | null {
    return this.states.get(profileId) ?? null;
  }

  put(profileId: string, state: ConsentState): void {
    this.states.set(profileId, state);
    this.written.add(profileId);
    this.removed.delete(profileId);
  }

  delete(profileId: string): void {
    this.states.delete(profileId);
    this.removed.add(profileId);
    this.written.delete(profileId);
  }

  changed(): Map<string, ConsentState> {
    return new Map([...this.written].map((id) => [id, this.states.get(id)!]));
  }

  deleted(): string[] {
    return [...this.removed];
  }
}
