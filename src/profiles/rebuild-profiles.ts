/**
 * Full rebuild: recompute every profile from the identity facts (the truth) and every profile's traits
 * from its identify events. Proves that the incrementally maintained view can always be thrown away and
 * derived again; also how a change of identity rules is applied to the past. One transaction: readers
 * see the old profiles until it commits, and the processor waits for it.
 */
import { identifierKey, rebuild, traitsToRecord, type IdentityRules } from '../core/identity/index.ts';
import { traitsOf } from '../processor/commands.ts';
import { emptyIdentityWrite } from '../storage/identity-records.ts';
import type { Store } from '../storage/store.ts';

export interface RebuildReport {
  facts: number;
  profiles: number;
  identities: number;
}

export async function rebuildProfiles(store: Store, rules: IdentityRules, now: number): Promise<RebuildReport> {
  return store.runBatch(async (tx) => {
    const facts = await tx.allFacts();
    const graph = rebuild(facts, rules);
    await tx.clearProfiles();
    const write = emptyIdentityWrite();
    let identities = 0;
    for (const id of graph.profileIds()) {
      const snapshot = graph.snapshot(id)!;
      identities += snapshot.identifiers.length;
      const events = await tx.identifyEventsOf(snapshot.identifiers.map((r) => identifierKey(r.identifier)));
      const createdAt = snapshot.firstSeen;
      write.profiles.push({ snapshot, traits: traitsToRecord(traitsOf(events)), createdAt, updatedAt: now });
      for (const from of snapshot.absorbed) write.redirects.push({ from, to: id });
    }
    await tx.writeIdentity(write);
    return { facts: facts.length, profiles: write.profiles.length, identities };
  });
}
