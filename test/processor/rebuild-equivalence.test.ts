/**
 * Incremental processing equals a full rebuild from the facts: demo traffic (anonymous sessions, logins,
 * several devices, junk ids) goes through the durable log and the real processor; then every profile is
 * rebuilt from the stored identity facts and identify events, and must come out the same — grouping,
 * ids and traits — on SQLite and on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RULES } from '../../src/core/identity/rules.ts';
import { toBatches } from '../../src/demo/batches.ts';
import { generateDemo } from '../../src/demo/generator.ts';
import { Processor, processorSettings } from '../../src/processor/processor.ts';
import { rebuildProfiles } from '../../src/profiles/rebuild-profiles.ts';
import type { Store, StoredProfile } from '../../src/storage/store.ts';
import { openPipeline } from '../support/pipeline.ts';

async function allProfiles(store: Store): Promise<Map<string, StoredProfile>> {
  const out = new Map<string, StoredProfile>();
  let after: string | undefined;
  for (;;) {
    const ids = await store.searchProfileIds({ afterId: after, limit: 500 });
    for (const id of ids) out.set(id, (await store.getProfile(id))!);
    if (ids.length < 500) return out;
    after = ids[ids.length - 1];
  }
}

/** What must survive a rebuild: identifiers per profile id, and the traits' values and provenance. */
function shape(profiles: Map<string, StoredProfile>) {
  return [...profiles.values()]
    .map((p) => ({
      id: p.snapshot.id,
      identifiers: p.snapshot.identifiers.map((r) => `${r.identifier.type}:${r.identifier.value}`),
      traits: p.traits,
    }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`incremental identity equals a rebuild from the facts (${backend})`, () => {
    it('on 4,000 demo events', async (t) => {
      const p = await openPipeline(backend);
      if (p === null) return t.skip('PostgreSQL not reachable');
      const { config, store, log } = p;
      try {
        const start = new Date(Date.UTC(2026, 9, 1));
        for (const b of toBatches(generateDemo({ seed: 7, events: 4000, start, days: 10 }), 100)) {
          await log.append({
            sourceId: 'src_demo',
            receivedAt: Date.parse(b.sentAt),
            typeHint: null,
            shape: 'batch',
            body: JSON.stringify(b),
            messages: b.batch.length,
          });
        }
        const processor = new Processor({ log, store, ...processorSettings(config), now: () => Date.UTC(2026, 9, 12), report: () => {} });
        await processor.init();
        while ((await processor.runOnce()) > 0);

        const incremental = await allProfiles(store);
        assert.ok(incremental.size > 100, `the demo made ${incremental.size} profiles`);
        assert.ok(
          [...incremental.values()].some((p) => p.snapshot.identifiers.length >= 3),
          'some profiles joined several identifiers',
        );
        assert.ok(
          [...incremental.values()].some((p) => Object.keys(p.traits).length > 0),
          'some profiles have traits',
        );

        const report = await rebuildProfiles(store, DEFAULT_RULES, Date.UTC(2026, 9, 13));
        assert.equal(report.profiles, incremental.size);
        const rebuilt = await allProfiles(store);
        assert.deepEqual(shape(rebuilt), shape(incremental));
      } finally {
        await p.close();
      }
    });
  });
}
