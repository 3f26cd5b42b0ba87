/**
 * The process's CPU time split by thread: `main` (the event loop: HTTP edge, log appends, the consent
 * follower), each worker thread by its role (`processor`, `audience`, `checkpoint`; an exited worker keeps
 * the figure it was last read at), and `other`: the rest of the process (V8's garbage-collection and
 * compiler helpers, libuv's thread pool, what exited workers used after their last reading). Which thread
 * is near a full core says where throughput is lost.
 *
 * Linux only: read from `/proc/self/task/<tid>/stat`, in clock ticks of 1/100 s (USER_HZ, fixed at 100 on
 * Linux's mainstream architectures, which is what /proc reports in whatever the kernel's own HZ). Elsewhere
 * `sample()` answers null and no figure is published.
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

export class ThreadCpuSampler {
  /** Every thread seen, by OS id: its role and its CPU when last read (kept once it exits, so totals never fall). */
  private readonly seen = new Map<number, { role: string; seconds: number }>();

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
}
