/**
 * The in-memory resolution ceiling, in its own process: the same demo batches the load generator
 * sends, `JSON.parse`d, then identity resolution and trait merging in memory with the project's own
 * pure core (`src/core/identity`), exactly as the processor's identity stage calls it, single thread.
 * Nothing is validated, stored or sent anywhere: this is what one core can do at best with the data.
 *
 * After it (so that its warm-up does not flatter the core's figure), on the same batches, the measure
 * issue 3's goal was set against ("JSON.parse + identity lookup + in-memory profile merge in a Map",
 * ~270k events/s a core on ~545-byte events): each message's userId, anonymousId and e-mail looked up in
 * one Map as they come, the first profile found (or a new one) takes them all, and its traits are
 * `Object.assign`ed. Nothing is standardised, no junk id refused, no limit kept, no two profiles merged:
 * `naivePerSec`, what the goal's own ceiling is here.
 *
 * Usage: node --import tsx bench/identity-ceiling.ts '<DemoSpec JSON>'  → one JSON line.
 */
import type { EventType, JsonObject, TrackedEvent } from '../src/core/event/event.ts';
import {
  DEFAULT_RULES,
  extractIdentifiers,
  IdentityGraph,
  linkFactOf,
  mergeTraitsInto,
  provenanceOf,
  traitUpdateOf,
  writeTraits,
  type TraitMap,
} from '../src/core/identity/index.ts';
import { demoBodies, type DemoSpec } from './demo-traffic.ts';

const spec = JSON.parse(process.argv[2] ?? '{}') as DemoSpec;
const bodies = demoBodies(spec); // not timed: the load generator builds them before its clock starts too

const idOf = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null);

/** The goal's reference measure (see the file comment); its own Map, so it leaves no state behind. */
function naivePass(): { perSec: number; profiles: number } {
  const byKey = new Map<string, { traits: Record<string, unknown> }>();
  let n = 0;
  const t0 = performance.now();
  for (const body of bodies) {
    const { batch } = JSON.parse(body) as { batch: JsonObject[] };
    for (const m of batch) {
      n++;
      const traits = (m.traits ?? (m.context as JsonObject | undefined)?.traits) as Record<string, unknown> | undefined;
      const keys: string[] = [];
      if (typeof m.userId === 'string') keys.push(`u:${m.userId}`);
      if (typeof m.anonymousId === 'string') keys.push(`a:${m.anonymousId}`);
      if (typeof traits?.email === 'string') keys.push(`e:${traits.email}`);
      let profile: { traits: Record<string, unknown> } | undefined;
      for (const k of keys) if ((profile = byKey.get(k)) !== undefined) break;
      profile ??= { traits: {} };
      for (const k of keys) byKey.set(k, profile);
      if (traits !== undefined) Object.assign(profile.traits, traits);
    }
  }
  const perSec = n / ((performance.now() - t0) / 1000);
  return { perSec, profiles: new Set(byKey.values()).size };
}
const graph = new IdentityGraph();
const traits = new Map<string, TraitMap>();
const accounts = new Map<string, TraitMap>();
const isKnownUserId = (v: string) => graph.isKnown({ type: 'user_id', value: v });
let events = 0;
let created = 0;
let merges = 0;
let seq = 0;
const receivedAt = Date.now();

const t0 = performance.now();
for (const body of bodies) {
  const { batch } = JSON.parse(body) as { batch: JsonObject[] };
  for (const m of batch) {
    const event: TrackedEvent = {
      sourceId: 'bench',
      messageId: m.messageId as string,
      type: m.type as EventType,
      name: idOf(m.event ?? m.name),
      userId: idOf(m.userId),
      anonymousId: idOf(m.anonymousId),
      timestamp: Date.parse(m.timestamp as string),
      receivedAt,
      message: m,
    };
    events++;
    const extracted = extractIdentifiers(event, event.type === 'alias' ? { isKnownUserId } : {});
    if (extracted.identifiers.length === 0) continue;
    const outcome = graph.apply(linkFactOf(event, extracted.identifiers, seq++), DEFAULT_RULES);
    const pid = outcome.profileId;
    if (pid === null) continue;
    if (outcome.created) {
      created++;
      traits.set(pid, new Map());
    }
    const own = traits.get(pid)!;
    for (const gone of outcome.mergedFrom) {
      const theirs = traits.get(gone);
      if (theirs) mergeTraitsInto(own, theirs);
      traits.delete(gone);
      merges++;
    }
    const update = traitUpdateOf(event);
    if (update?.target === 'profile') writeTraits(own, update.traits, provenanceOf(event));
    else if (update?.target === 'group') {
      let a = accounts.get(update.groupId);
      if (a === undefined) accounts.set(update.groupId, (a = new Map()));
      writeTraits(a, update.traits, provenanceOf(event));
    }
  }
}
const elapsed = (performance.now() - t0) / 1000;
const naive = naivePass();
process.stdout.write(
  `${JSON.stringify({ events, elapsed, perSec: events / elapsed, naivePerSec: naive.perSec, naiveProfiles: naive.profiles, profilesCreated: created, merges, liveProfiles: graph.size, accounts: accounts.size })}\n`,
);
