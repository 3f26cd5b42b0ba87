/**
 * Consent choices carried by events reach the consent inbox in the same transaction as their batch:
 * a batch that rolls back leaves no row behind, a committed one leaves each choice once (a re-sent
 * event adds nothing), and the rows are ready for the consent follower as soon as the batch commits.
 * A banner state repeated on a visitor's events takes two rows (its first and last), not one per event.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeCarriedChanges } from '../../src/core/consent/carried.ts';
import { createPrivacyGate } from '../../src/privacy/gate-factory.ts';
import { Processor, processorSettings } from '../../src/processor/processor.ts';
import { migrateAll } from '../../src/storage/migrate-all.ts';
import { openPrivacyStore } from '../../src/storage/privacy/open-privacy-store.ts';
import { openPipeline } from '../support/pipeline.ts';

const NOW = Date.UTC(2026, 9, 1);

type Pipeline = NonNullable<Awaited<ReturnType<typeof openPipeline>>>;

/** A migrated pipeline on `backend` and its privacy store for `fn`, closed afterwards. */
async function withPipeline(
  t: { skip(message: string): void },
  backend: 'sqlite' | 'postgres',
  fn: (p: Pipeline, privacy: Awaited<ReturnType<typeof openPrivacyStore>>) => Promise<void>,
): Promise<void> {
  const p = await openPipeline(backend);
  if (p === null) return t.skip('PostgreSQL not reachable');
  try {
    await migrateAll(p.store);
    await fn(p, await openPrivacyStore(p.store));
  } finally {
    await p.close();
  }
}

/** The processor the server runs, with its collection gate, at a fixed time. */
async function processorOf({ config, store, log }: Pipeline, onError?: (err: unknown) => void): Promise<Processor> {
  const processor = new Processor({
    log,
    store,
    ...processorSettings(config),
    gate: await createPrivacyGate(store, config, () => NOW),
    now: () => NOW,
    report: () => {},
    ...(onError ? { onError } : {}),
  });
  await processor.init();
  return processor;
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`consent inbox written with the batch (${backend})`, () => {
    it('rolls back with a failed batch, lands once with a committed one, and is ready for the follower at once', async (t) => {
      await withPipeline(t, backend, async (p, privacy) => {
        const { store, log } = p;
        let failNext = true;
        const runBatch = store.runBatch.bind(store);
        store.runBatch = (work) =>
          runBatch(async (tx) => {
            const result = await work(tx);
            if (failNext) {
              failNext = false;
              throw new Error('simulated failure after the batch was written');
            }
            return result;
          });
        const errors: string[] = [];
        const processor = await processorOf(p, (err) => errors.push((err as Error).message));
        const consenting = {
          type: 'track',
          event: 'Viewed',
          userId: 'u-consent',
          messageId: 'm-consent',
          context: { consent: { categoryPreferences: { Advertising: true, Analytics: false } } },
        };
        const body = JSON.stringify({ batch: [consenting, { type: 'track', event: 'Viewed', userId: 'u-other', messageId: 'm-other' }] });
        const append = () => log.append({ sourceId: 'src', receivedAt: NOW, typeHint: null, shape: 'batch', body, messages: 2 });
        await append();
        const inbox = () => privacy.data.q.all<{ identifiers: string }>('SELECT identifiers FROM privacy_consent_inbox ORDER BY id');

        await assert.rejects(processor.runOnce(), /simulated failure/);
        assert.deepEqual(await inbox(), [], 'nothing of a rolled-back batch');

        assert.equal(await processor.runOnce(), 1);
        assert.deepEqual(
          (await inbox()).map((r) => JSON.parse(r.identifiers) as string[]),
          [['user_id:u-consent']],
        );
        const ready = await privacy.data.inboxReady(10);
        assert.equal(ready.length, 1, 'ready for the follower once the batch has committed');
        // Placed where identity resolved the event: its fact and the profile holding u-consent.
        const holder = (await store.profileHolding('user_id:u-consent'))!;
        const brought = holder.snapshot.identifiers.find((r) => r.identifier.value === 'u-consent')!.broughtBy;
        assert.deepEqual(ready[0]!.placement, { factSeq: brought.seq, profileId: holder.snapshot.id });

        // The same event sent again (an SDK retry): a duplicate, and no second inbox row.
        await append();
        assert.equal(await processor.runOnce(), 1);
        assert.equal((await inbox()).length, 1);
        assert.deepEqual(errors, []);
      });
    });

    it('writes a row for the first and the last of a visitor repeating the same banner state, and every change', async (t) => {
      await withPipeline(t, backend, async (p, privacy) => {
        const processor = await processorOf(p);
        // Ten page views carrying the same banner state, then the visitor refuses analytics, then two more.
        const view = (i: number, analytics: boolean) => ({
          type: 'page',
          name: 'Home',
          anonymousId: 'a-banner',
          messageId: `m-banner-${i}`,
          timestamp: new Date(NOW - 60_000 + i * 1000).toISOString(),
          context: { consent: { categoryPreferences: { Analytics: analytics, Advertising: true } } },
        });
        const batch = [...Array.from({ length: 10 }, (_, i) => view(i, true)), view(10, false), view(11, false), view(12, false)];
        await p.log.append({
          sourceId: 'src',
          receivedAt: NOW,
          typeHint: null,
          shape: 'batch',
          body: JSON.stringify({ batch }),
          messages: batch.length,
        });
        assert.equal(await processor.runOnce(), 1);
        const rows = await privacy.data.inboxReady(100);
        const messageIds = rows.map((r) => decodeCarriedChanges(r.changes)[0]!.proof.eventMessageId);
        assert.deepEqual(messageIds, ['m-banner-0', 'm-banner-9', 'm-banner-10', 'm-banner-12']);
      });
    });
  });
}
