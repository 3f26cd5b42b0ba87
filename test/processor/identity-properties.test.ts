/**
 * Properties of the whole identity pipeline (log → processor → SQLite store) on random traffic:
 * no event is lost or orphaned by merges, no identifier is in two profiles, and the stored profiles equal
 * a rebuild from the stored facts. The pure core has its own, much larger, property suite; this one checks
 * that the storage and the processor keep what the core decides.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseConfig } from '../../src/config/config.ts';
import { DEFAULT_RULES } from '../../src/core/identity/rules.ts';
import { SqliteEventLog } from '../../src/log/sqlite/sqlite-log.ts';
import { Processor, processorSettings } from '../../src/processor/processor.ts';
import { rebuildProfiles } from '../../src/profiles/rebuild-profiles.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { tempDir } from '../support/harness.ts';

const anon = fc.constantFrom('a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'undefined');
const user = fc.constantFrom('u1', 'u2', 'u3');
const email = fc.constantFrom('x@example.com', 'Y@example.com', 'z@example.com');

const message = fc.oneof(
  fc.record({ type: fc.constant('track'), anonymousId: anon, event: fc.constantFrom('Viewed', 'Bought') }),
  fc.record({
    type: fc.constant('identify'),
    anonymousId: anon,
    userId: user,
    traits: fc.record({ plan: fc.constantFrom('free', 'pro') }),
  }),
  fc.record({ type: fc.constant('identify'), anonymousId: anon, traits: fc.record({ email }) }),
  fc.record({ type: fc.constant('alias'), userId: user, previousId: anon }),
  fc.record({ type: fc.constant('page'), userId: user, name: fc.constant('Home') }),
);

describe('identity pipeline properties (SQLite)', () => {
  it('keeps every event attributed to a live profile, each identifier in one profile, and equals a rebuild', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(message, fc.integer({ min: 0, max: 86_400_000 })), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 7 }),
        async (stream, batchSize) => {
          const dir = tempDir();
          const config = parseConfig({ TESSERA_DATA_DIR: dir });
          const store = new SqliteStore(path.join(dir, 'store.sqlite'));
          const log = new SqliteEventLog(path.join(dir, 'log.sqlite'));
          try {
            await store.migrate();
            const messages = stream.map(([m, t], i) => ({
              ...m,
              messageId: `m${i}`,
              timestamp: new Date(Date.UTC(2026, 0, 1) + t).toISOString(),
            }));
            for (let i = 0; i < messages.length; i += batchSize) {
              const batch = messages.slice(i, i + batchSize);
              await log.append({
                sourceId: 's',
                receivedAt: Date.UTC(2026, 0, 2),
                typeHint: null,
                shape: 'batch',
                body: JSON.stringify({ batch }),
                messages: batch.length,
              });
            }
            const processor = new Processor({
              log,
              store,
              ...processorSettings(config),
              now: () => Date.UTC(2026, 0, 3),
              report: () => {},
            });
            await processor.init();
            while ((await processor.runOnce()) > 0);

            const db = store.db;
            assert.equal(db.prepare('SELECT count(*) FROM events').pluck().get(), messages.length, 'every event is stored');
            const orphans = db
              .prepare('SELECT count(*) FROM events WHERE ident IS NOT NULL AND ident NOT IN (SELECT key FROM identities)')
              .pluck()
              .get();
            assert.equal(orphans, 0, 'no event is left behind by a merge');
            const dangling = db.prepare('SELECT count(*) FROM identities WHERE profile_id NOT IN (SELECT id FROM profiles)').pluck().get();
            assert.equal(dangling, 0, 'every identifier belongs to a live profile');
            const grouping = () =>
              (
                db
                  .prepare(
                    "SELECT profile_id, group_concat(key, '|') AS keys FROM (SELECT * FROM identities ORDER BY key) GROUP BY profile_id ORDER BY keys",
                  )
                  .all() as Array<{ keys: string }>
              ).map((r) => r.keys);
            const before = grouping();
            await rebuildProfiles(store, DEFAULT_RULES, Date.UTC(2026, 0, 4));
            // Arrival order and event time differ here, and limits (one user id per profile) can make the
            // grouping order-dependent; the rebuild replays in time order, the processor in arrival order.
            // So compare only when the stream arrived in time order.
            const inTimeOrder = messages.every((m, i) => i === 0 || m.timestamp >= messages[i - 1]!.timestamp);
            if (inTimeOrder) assert.deepEqual(grouping(), before);
          } finally {
            await log.close();
            await store.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('equals a rebuild for streams that arrive in time order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 60 }), async (stream) => {
        const dir = tempDir();
        const config = parseConfig({ TESSERA_DATA_DIR: dir });
        const store = new SqliteStore(path.join(dir, 'store.sqlite'));
        const log = new SqliteEventLog(path.join(dir, 'log.sqlite'));
        try {
          await store.migrate();
          const batch = stream.map((m, i) => ({
            ...m,
            messageId: `m${i}`,
            timestamp: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
          }));
          await log.append({
            sourceId: 's',
            receivedAt: Date.UTC(2026, 0, 2),
            typeHint: null,
            shape: 'batch',
            body: JSON.stringify({ batch }),
            messages: batch.length,
          });
          const processor = new Processor({ log, store, ...processorSettings(config), now: () => Date.UTC(2026, 0, 3), report: () => {} });
          await processor.init();
          while ((await processor.runOnce()) > 0);
          const snapshot = () =>
            store.db
              .prepare('SELECT i.key, i.profile_id, p.traits FROM identities i JOIN profiles p ON p.id = i.profile_id ORDER BY i.key')
              .all();
          const before = snapshot();
          await rebuildProfiles(store, DEFAULT_RULES, Date.UTC(2026, 0, 4));
          assert.deepEqual(snapshot(), before);
        } finally {
          await log.close();
          await store.close();
        }
      }),
      { numRuns: 40 },
    );
  });
});
