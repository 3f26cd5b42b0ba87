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

/** User + system CPU seconds of one thread of this process, or null when it is gone (or not on Linux). */
export function threadCpuSeconds(osThreadId: number): number | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/self/task/${osThreadId}/stat`, 'latin1');
  } catch {
    return null;
  }
  return cpuSecondsOfStat(stat);
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
  let text: string;
  try {
    text = fs.readFileSync(`/proc/self/task/${osThreadId}/schedstat`, 'latin1');
  } catch {
    return null;
  }
  return runQueueSecondsOfSchedstat(text);
}

/** The run-queue wait from a `schedstat` line (`<on-CPU ns> <run-queue ns> <time slices>`); null when it does not read as one. */
export function runQueueSecondsOfSchedstat(text: string): number | null {
  const fields = text.trim().split(' ');
  if (fields.length !== 3) return null;
  const ns = Number(fields[1]);
  return Number.isFinite(ns) ? ns / 1e9 : null;
}

export class ThreadCpuSampler {
  /** Every thread seen, by OS id: its role and its CPU when last read (kept once it exits, so totals never fall). */
  private readonly seen = new Map<number, { role: string; seconds: number }>();
  /** The same for run-queue waits, of the main thread and the named workers. */
  private readonly waits = new Map<number, { role: string; seconds: number }>();

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
    const main = threadCpuSeconds(this.mainThreadId);
    if (main === null) return null;
    this.seen.set(this.mainThreadId, { role: 'main', seconds: main });
    for (const { role, osThreadId } of this.workers()) {
      const seconds = threadCpuSeconds(osThreadId);
      if (seconds !== null) this.seen.set(osThreadId, { role, seconds });
    }
    const out: Record<string, number> = {};
    let named = 0;
    for (const { role, seconds } of this.seen.values()) {
      out[role] = (out[role] ?? 0) + seconds;
      named += seconds;
    }
    // Tick-rounded thread figures can exceed the process's exact total by a tick or two.
    out.other = Math.max(0, this.processSeconds() - named);
    return out;
  }

  /** Cumulative run-queue seconds per role (`main` and the workers'; not `other`); null when they cannot be read here. */
  runQueue(): Record<string, number> | null {
    const main = threadRunQueueSeconds(this.mainThreadId);
    if (main === null) return null;
    this.waits.set(this.mainThreadId, { role: 'main', seconds: main });
    for (const { role, osThreadId } of this.workers()) {
      const seconds = threadRunQueueSeconds(osThreadId);
      if (seconds !== null) this.waits.set(osThreadId, { role, seconds });
    }
    const out: Record<string, number> = {};
    for (const { role, seconds } of this.waits.values()) out[role] = (out[role] ?? 0) + seconds;
    return out;
  }
}
