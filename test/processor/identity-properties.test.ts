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

/** A fresh store and log in a temp dir; `messages` are appended in batches, processed, then `check` runs. */
async function processed(
  messages: Array<Record<string, unknown>>,
  batchSize: number,
  check: (store: SqliteStore) => Promise<void>,
): Promise<void> {
  const dir = tempDir();
  const config = parseConfig({ TESSERA_DATA_DIR: dir });
  const store = new SqliteStore(path.join(dir, 'store.sqlite'));
  const log = new SqliteEventLog(path.join(dir, 'log.sqlite'));
  try {
    await store.migrate();
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
    const processor = new Processor({ log, store, ...processorSettings(config), now: () => Date.UTC(2026, 0, 3), report: () => {} });
    await processor.init();
    while ((await processor.runOnce()) > 0);
    await check(store);
  } finally {
    await log.close();
    await store.close();
  }
}

describe('identity pipeline properties (SQLite)', () => {
  it('keeps every event attributed to a live profile and each identifier in one live profile', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(message, fc.integer({ min: 0, max: 86_400_000 })), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 7 }),
        async (stream, batchSize) => {
          // Arrival order differs from event time here (late events), in batches of any size.
          const messages = stream.map(([m, t], i) => ({
            ...m,
            messageId: `m${i}`,
            timestamp: new Date(Date.UTC(2026, 0, 1) + t).toISOString(),
          }));
          await processed(messages, batchSize, async (store) => {
            const count = (sql: string) => store.db.prepare(sql).pluck().get();
            assert.equal(count('SELECT count(*) FROM events'), messages.length, 'every event is stored');
            assert.equal(
              count('SELECT count(*) FROM events WHERE ident IS NOT NULL AND ident NOT IN (SELECT key FROM identities)'),
              0,
              'no event is left behind by a merge',
            );
            assert.equal(
              count('SELECT count(*) FROM identities WHERE profile_id NOT IN (SELECT id FROM profiles)'),
              0,
              'no identifier without a live profile',
            );
            assert.equal(
              count('SELECT count(*) FROM profile_redirects WHERE profile_id NOT IN (SELECT id FROM profiles)'),
              0,
              'redirects reach a live profile',
            );
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('equals a rebuild from the stored facts when events arrive in time order (identities, ids and traits)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 7 }), async (stream, batchSize) => {
        // In time order, because limits (one user id per profile) make the grouping depend on order, and
        // a rebuild replays in event-time order while the processor applies arrival order.
        const messages = stream.map((m, i) => ({
          ...m,
          messageId: `m${i}`,
          timestamp: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
        }));
        await processed(messages, batchSize, async (store) => {
          const snapshot = () =>
            store.db
              .prepare('SELECT i.key, i.profile_id, p.traits FROM identities i JOIN profiles p ON p.id = i.profile_id ORDER BY i.key')
              .all()
              // Traits as data: the order of keys in the stored JSON is not part of the contract.
              .map((r) => ({ ...(r as { traits: string }), traits: JSON.parse((r as { traits: string }).traits) as unknown }));
          const before = snapshot();
          await rebuildProfiles(store, DEFAULT_RULES, Date.UTC(2026, 0, 4));
          assert.deepEqual(snapshot(), before);
        });
      }),
      { numRuns: 40 },
    );
  });
});
