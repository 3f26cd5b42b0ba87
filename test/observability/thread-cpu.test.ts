/**
 * The process's CPU by thread: worker threads started by `startTsWorker` are listed by role with their
 * OS thread id while they run, and the sampler splits the process's CPU between them, the main thread
 * and `other`, never letting a figure fall (not even once a thread has exited).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import { describe, it } from 'node:test';
import {
  cpuSecondsOfStat,
  runQueueSecondsOfSchedstat,
  ThreadCpuSampler,
  threadCpuSeconds,
  threadRunQueueSeconds,
} from '../../src/observability/thread-cpu.ts';
import { runningWorkerThreads, startTsWorker } from '../../src/threads/ts-worker.ts';

const linux = fs.existsSync('/proc/thread-self');
const schedstat = fs.existsSync('/proc/thread-self/schedstat');

describe('thread CPU', () => {
  it('reads utime + stime from a stat line whose command name holds spaces and parentheses', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
    const line = '4242 (node (worker) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 123 0 0';
    assert.equal(cpuSecondsOfStat(line), 3.25);
    assert.equal(cpuSecondsOfStat('garbage'), null);
  });

  it('reads the run-queue wait from a schedstat line', () => {
    // <on-CPU ns> <run-queue ns> <time slices>
    assert.equal(runQueueSecondsOfSchedstat('5000000000 1250000000 812\n'), 1.25);
    assert.equal(runQueueSecondsOfSchedstat('garbage'), null);
    assert.equal(runQueueSecondsOfSchedstat('1 x 3'), null);
  });

  it('answers null where threads cannot be read', () => {
    assert.equal(threadCpuSeconds(-1), null);
    assert.equal(threadRunQueueSeconds(-1), null);
    assert.equal(new ThreadCpuSampler(() => [], undefined, -1).sample(), null);
    assert.equal(new ThreadCpuSampler(() => [], undefined, -1).runQueue(), null);
  });

  it(
    'counts the time busy threads waited for a core when there are more of them than cores',
    { skip: !schedstat && 'no /proc/thread-self/schedstat here (not Linux, or no scheduler statistics)' },
    async () => {
      // Twice as many threads burning CPU as there are cores: each spends part of its time in the run queue.
      const count = 2 * os.availableParallelism();
      const started = await Promise.all(
        Array.from({ length: count }, () =>
          startTsWorker(new URL('../support/busy-worker.ts', import.meta.url), { burnSeconds: 0.15 }, 'crowd'),
        ),
      );
      try {
        const sampler = new ThreadCpuSampler(runningWorkerThreads);
        await Promise.all(started.map(({ worker }) => once(worker, 'message')));
        const waits = sampler.runQueue()!;
        assert.ok(waits.crowd! > 0, `threads crowding the cores waited: ${JSON.stringify(waits)}`);
        assert.ok(waits.main !== undefined, 'the main thread is counted too');
        assert.equal(waits.other, undefined, 'no figure for the unnamed rest');
      } finally {
        await Promise.all(started.map(({ worker }) => worker.terminate()));
      }
    },
  );

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
