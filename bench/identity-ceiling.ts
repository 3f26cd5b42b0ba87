/**
 * The in-memory resolution ceiling, in its own process: the same demo batches the load generator
 * sends, `JSON.parse`d, then identity resolution and trait merging in memory with the project's own
 * pure core (`src/core/identity`), exactly as the processor's identity stage calls it, single thread.
 * Nothing is validated, stored or sent anywhere: this is what one core can do at best with the data.
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
process.stdout.write(
  `${JSON.stringify({ events, elapsed, perSec: events / elapsed, profilesCreated: created, merges, liveProfiles: graph.size, accounts: accounts.size })}\n`,
);
