/**
 * The process's CPU time split by thread: `main` (the event loop: HTTP edge, log appends, the consent
 * follower), each worker thread by its role (`processor`, `audience`, `checkpoint`; an exited worker keeps
 * the figure it was last read at), and `other`: the rest of the process (V8's garbage-collection and
 * compiler helpers, libuv's thread pool, what exited workers used after their last reading). Which thread
 * is near a full core says where throughput is lost.
 *
 * Beside it, the time each named thread spent runnable but waiting for a core (the kernel's run queue): a
 * thread that waits while the others run is short of cores, not slow. On two cores under the demo load the
 * processor's thread waited 0.25–0.45 s a second while requests arrived (docs/benchmarks-history.md,
 * session 21).
 *
 * Linux only: CPU from `/proc/self/task/<tid>/stat`, in clock ticks of 1/100 s (USER_HZ, fixed at 100 on
 * Linux's mainstream architectures, which is what /proc reports in whatever the kernel's own HZ); waits from
 * `/proc/self/task/<tid>/schedstat`, in nanoseconds (kernels built without scheduler statistics have none).
 * Elsewhere the samplers answer null and no figure is published.
 */
import fs from 'node:fs';

const TICKS_PER_SECOND = 100;

/** A file of one thread of this process under `/proc/self/task/<tid>/`, parsed; null when it is gone (or not on Linux). */
function readTaskFile(osThreadId: number, file: 'stat' | 'schedstat', parse: (text: string) => number | null): number | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/self/task/${osThreadId}/${file}`, 'latin1');
  } catch {
    return null;
  }
  return parse(text);
}

/** User + system CPU seconds of one thread of this process, or null when it is gone (or not on Linux). */
export function threadCpuSeconds(osThreadId: number): number | null {
  return readTaskFile(osThreadId, 'stat', cpuSecondsOfStat);
}

/** User + system CPU seconds from a `/proc/…/stat` line; null when it does not read as one. */
export function cpuSecondsOfStat(stat: string): number | null {
  // The command name (2nd field) is in parentheses and may hold spaces and ')': fields follow its last ')'.
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat.slice(close + 2).split(' ');
  // After the name: state is field 3, so utime (field 14) and stime (field 15) are at 11 and 12.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks / TICKS_PER_SECOND : null;
}

/** Seconds a thread of this process has been runnable but waiting for a core, or null (gone, or not on Linux). */
export function threadRunQueueSeconds(osThreadId: number): number | null {
  return readTaskFile(osThreadId, 'schedstat', runQueueSecondsOfSchedstat);
}

/** The run-queue wait from a `schedstat` line (`<on-CPU ns> <run-queue ns> <time slices>`); null when it does not read as one. */
export function runQueueSecondsOfSchedstat(text: string): number | null {
  const fields = text.trim().split(' ');
  if (fields.length !== 3) return null;
  const ns = Number(fields[1]);
  return Number.isFinite(ns) ? ns / 1e9 : null;
}

/** Per thread seen, by OS id: its role and its figure when last read (kept once it exits, so totals never fall). */
type LastReadings = Map<number, { role: string; seconds: number }>;

export class ThreadCpuSampler {
  private readonly cpu: LastReadings = new Map();
  private readonly waits: LastReadings = new Map();

  constructor(
    /** The worker threads running now (`threads/ts-worker.ts`'s `runningWorkerThreads`). */
    private readonly workers: () => Iterable<{ role: string; osThreadId: number }>,
    /** This process's whole CPU time, seconds (every thread, exited ones included). */
    private readonly processSeconds: () => number = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    },
    /** The main thread's OS id: on Linux the process id. */
    private readonly mainThreadId: number = process.pid,
  ) {}

  /** Cumulative CPU seconds per role, `other` included; null when threads cannot be read here. */
  sample(): Record<string, number> | null {
    const out = this.read(this.cpu, threadCpuSeconds);
    if (out === null) return null;
    const named = Object.values(out).reduce((a, b) => a + b, 0);
    // Tick-rounded thread figures can exceed the process's exact total by a tick or two.
    out.other = Math.max(0, this.processSeconds() - named);
    return out;
  }

  /** Cumulative run-queue seconds per role (`main` and the workers'; not `other`); null when they cannot be read here. */
  runQueue(): Record<string, number> | null {
    return this.read(this.waits, threadRunQueueSeconds);
  }

  /** Read the main thread and every running worker into `last`, and sum what it holds by role. */
  private read(last: LastReadings, reading: (osThreadId: number) => number | null): Record<string, number> | null {
    const main = reading(this.mainThreadId);
    if (main === null) return null;
    last.set(this.mainThreadId, { role: 'main', seconds: main });
    for (const { role, osThreadId } of this.workers()) {
      const seconds = reading(osThreadId);
      if (seconds !== null) last.set(osThreadId, { role, seconds });
    }
    const out: Record<string, number> = {};
    for (const { role, seconds } of last.values()) out[role] = (out[role] ?? 0) + seconds;
    return out;
  }
}
