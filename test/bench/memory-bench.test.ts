/**
 * The memory section's run (`npm run bench -- --only=memory`), small: the demo business sent over HTTP by
 * `tessera demo --url` to a real server, every event stored before the figures are read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryRun } from '../../bench/scenarios/memory.ts';

describe('memory bench', () => {
  it('sends the demo business over HTTP and reads the server once everything is stored', async () => {
    const f = await memoryRun({ events: 2_000 });
    assert.equal(f.events, 2_000);
    assert.ok(f.profiles > 0 && f.profiles < f.events, `${f.profiles} profiles`);
    assert.ok(f.peakRssMb > 0);
    assert.ok(f.storedSeconds >= f.sentSeconds);
  });
});
