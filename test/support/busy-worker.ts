/**
 * A worker-thread entry for tests of `threads/ts-worker.ts` and thread CPU: answers ready, then burns
 * `workerData.burnSeconds` of its own thread's CPU time (read from /proc/thread-self/stat, Linux), says
 * `burnt`, and waits for a `stop`.
 */
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { cpuSecondsOfStat } from '../../src/observability/thread-cpu.ts';

const port = parentPort!;
port.postMessage({ kind: 'ready' });
const { burnSeconds } = workerData as { burnSeconds: number };
const ownCpu = () => cpuSecondsOfStat(fs.readFileSync('/proc/thread-self/stat', 'latin1')) ?? Infinity;
let x = 0;
while (ownCpu() < burnSeconds) for (let i = 0; i < 100_000; i++) x = (x * 31 + 7) % 1_000_003;
port.postMessage({ kind: 'burnt', x });
port.on('message', (m: { kind: string }) => {
  if (m.kind === 'stop') port.close();
});
