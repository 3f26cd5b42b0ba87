/**
 * Operator commands travel through the log and are applied in order; one that keeps failing, or an
 * entry that is no command at all, must never stop the log. On PostgreSQL a failed statement aborts
 * its transaction, so the failure answer must be written in a fresh one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Processor, processorSettings } from '../../src/processor/processor.ts';
import { openPipeline } from '../support/pipeline.ts';

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`processor commands (${backend})`, () => {
    it('a command that fails every time is answered as failed after 3 attempts, and the log goes on', async (t) => {
      const p = await openPipeline(backend);
      if (p === null) return t.skip('PostgreSQL not reachable');
      const { config, store, log } = p;
      try {
        // Every transaction of the command fails inside the store, as a broken statement would.
        let failures = 0;
        let commandSeq = Infinity;
        let processor: Processor | null = null;
        const runBatch = store.runBatch.bind(store);
        store.runBatch = (work) =>
          runBatch((tx) =>
            work({
              ...tx,
              nextFactSeq: async () => {
                if ((processor?.processedSeq ?? 0) >= commandSeq) return tx.nextFactSeq();
                failures++;
                // On PostgreSQL a NUL byte fails the statement and so aborts the transaction, as a real
                // failure would: nothing more can be written in it.
                await tx.profilesById(['\u0000']).catch(() => undefined);
                throw new Error('simulated statement failure');
              },
            }),
          );
        const errors: string[] = [];
        processor = new Processor({
          log,
          store,
          ...processorSettings(config),
          now: () => Date.UTC(2026, 9, 1),
          report: () => {},
          onError: (err) => errors.push((err as Error).message),
        });
        await processor.init();
        const command = (body: unknown) =>
          log.append({ sourceId: '', receivedAt: 0, typeHint: null, shape: 'command', body: JSON.stringify(body), messages: 0 });
        commandSeq = await command({
          command: 'merge',
          requestId: 'req-1',
          profileA: 'p-a',
          profileB: 'p-b',
          reason: 'test',
          actor: 'test',
        });
        await command({ nonsense: true });
        const after = await log.append({
          sourceId: 'src',
          receivedAt: 0,
          typeHint: null,
          shape: 'batch',
          body: JSON.stringify({ batch: [{ type: 'track', userId: 'u1', event: 'After', messageId: 'm-after' }] }),
          messages: 1,
        });
        for (let i = 0; i < 10 && processor.processedSeq < after; i++) await processor.runOnce().catch(() => 0);
        assert.equal(failures, 3, 'three attempts, then no more');
        const answer = (await store.commandResult('req-1')) as { ok: boolean; message: string };
        assert.equal(answer.ok, false);
        assert.match(answer.message, /failed 3 times: simulated statement failure/);
        assert.ok(
          errors.some((m) => /not a processor command/.test(m)),
          errors.join('; '),
        );
        assert.equal(processor.processedSeq, after, 'the events after them were processed');
        assert.equal(await store.countEvents(), 1);
      } finally {
        await p.close();
      }
    });
  });
}
