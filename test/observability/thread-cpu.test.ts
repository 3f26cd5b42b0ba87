/**
 * The process's CPU by thread: worker threads started by `startTsWorker` are listed by role with their
 * OS thread id while they run, and the sampler splits the process's CPU between them, the main thread
 * and `other`, never letting a figure fall (not even once a thread has exited).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { cpuSecondsOfStat, ThreadCpuSampler, threadCpuSeconds } from '../../src/observability/thread-cpu.ts';
import { runningWorkerThreads, startTsWorker } from '../../src/threads/ts-worker.ts';

const linux = fs.existsSync('/proc/thread-self');

describe('thread CPU', () => {
  it('reads utime + stime from a stat line whose command name holds spaces and parentheses', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
    const line = '4242 (node (worker) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 123 0 0';
    assert.equal(cpuSecondsOfStat(line), 3.25);
    assert.equal(cpuSecondsOfStat('garbage'), null);
  });

  it('answers null where threads cannot be read', () => {
    assert.equal(threadCpuSeconds(-1), null);
    assert.equal(new ThreadCpuSampler(() => [], undefined, -1).sample(), null);
  });

  it(
    'splits the CPU of a busy worker thread out of the process, and keeps it once the thread exits',
    { skip: !linux && 'no /proc/thread-self here (not Linux)' },
    async () => {
      const { worker } = await startTsWorker(new URL('../support/busy-worker.ts', import.meta.url), { burnSeconds: 0.3 }, 'busy');
      const exited = once(worker, 'exit');
      try {
        const listed = runningWorkerThreads().filter((t) => t.role === 'busy');
        assert.equal(listed.length, 1, 'the started worker is listed by its role');
        assert.notEqual(listed[0]!.osThreadId, process.pid, 'with its own OS thread id');

        const sampler = new ThreadCpuSampler(runningWorkerThreads);
        await once(worker, 'message'); // burnt
        const during = sampler.sample()!;
        // The worker burnt 0.3 s of its own CPU time (as /proc counts it), however busy the machine.
        assert.ok(during.busy! >= 0.3, `the worker's CPU is its own: ${JSON.stringify(during)}`);
        assert.ok(during.main! > 0);
        // The roles add up to the process's CPU (`other` is the rest), to within the ticks' rounding.
        const total = Object.values(during).reduce((a, b) => a + b, 0);
        const usage = process.cpuUsage();
        assert.ok(Math.abs(total - (usage.user + usage.system) / 1e6) < 0.5, `${total} against the process's ${JSON.stringify(usage)}`);

        worker.postMessage({ kind: 'stop' });
        await exited;
        assert.equal(runningWorkerThreads().filter((t) => t.role === 'busy').length, 0, 'an exited worker is no longer listed');
        const after = sampler.sample()!;
        assert.ok(after.busy! >= during.busy!, 'an exited thread keeps its figure');
        assert.ok(after.main! >= during.main!);
      } finally {
        await worker.terminate();
      }
    },
  );
});
