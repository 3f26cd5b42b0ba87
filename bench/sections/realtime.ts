/**
 * The real-time segments section of `npm run bench` (issue 4), on each backend: event → membership
 * latency under a steady background load, time-driven exits, and the throughput cost of live segments
 * and computed traits (`bench/scenarios/realtime.ts`).
 */
import type { DemoSpec } from '../demo-traffic.ts';
import { percentile, type Backend, type Harness } from '../harness.ts';
import { median } from '../stats.ts';

interface RealtimeSpec {
  segments: number;
  computedTraits: number;
  /** The latency window (background load), s. */
  seconds: number;
  /**
   * Probes sent in the load's first seconds are reported apart: the server is fresh (its code not yet
   * optimised for this load, its caches empty), and the issue's goal is about a server that is ingesting.
   */
  settleSeconds: number;
  eventsPerSec: number;
  /** Time-driven probes per latency run, and the window of their segment (s). */
  ticks: number;
  tickWindowSeconds: number;
  /**
   * Demo events sent in each throughput run; 0: no throughput runs (quick mode: a pair of runs over a few
   * thousand events says nothing about the cost, and leaving them out keeps the smoke test under a minute).
   */
  demoEvents: number;
  /** Full mode: a warm-up latency run before the counted ones (it also warms the throughput runs), and how many runs. */
  warmup: boolean;
  runs: number;
}

/**
 * Full mode offers SQLite the issue's 10k events/s. (Until the runner read and evaluated outside the
 * write lock and kept histories between steps, 10k was more than this 2-core VM stored end to end with 50
 * segments, and the bench offered 5k.) PostgreSQL is offered 5k (it was 3k, when its runner fell minutes
 * behind at 5k in one of two trial runs; by hand it has since kept up at 10k, ~200–300 ms, but with no
 * margin on a slower day). Every run starts its own server on
 * fresh data, so one warm-up (a short latency run, on SQLite) warms what the rest share; PostgreSQL runs
 * right after it, twice each, with a shorter window and fewer demo events, so that the full bench stays
 * within 15 minutes.
 */
/** Quick mode: a smoke run of the latency part (on SQLite only, see `realtimeSection`). */
const QUICK: RealtimeSpec = {
  segments: 10,
  computedTraits: 4,
  seconds: 1,
  settleSeconds: 0,
  eventsPerSec: 2_000,
  ticks: 1,
  tickWindowSeconds: 1,
  demoEvents: 0,
  warmup: false,
  runs: 1,
};

const SPECS: Record<'quick' | 'full', Record<Backend['name'], RealtimeSpec>> = {
  quick: { sqlite: QUICK, postgres: QUICK },
  full: {
    sqlite: {
      segments: 50,
      computedTraits: 20,
      seconds: 14,
      settleSeconds: 2,
      eventsPerSec: 10_000,
      ticks: 5,
      tickWindowSeconds: 3,
      demoEvents: 30_000,
      warmup: true,
      runs: 3,
    },
    postgres: {
      segments: 50,
      computedTraits: 20,
      seconds: 10,
      settleSeconds: 2,
      eventsPerSec: 5_000,
      ticks: 5,
      tickWindowSeconds: 3,
      demoEvents: 15_000,
      warmup: false,
      runs: 2,
    },
  },
};

export async function realtimeSection(h: Harness, backends: Backend[], demo: DemoSpec): Promise<void> {
  const { realtimeLatency, realtimeThroughput } = await import('../scenarios/realtime.ts');
  for (const backend of backends) {
    if (h.quick && backend.name === 'postgres') {
      // The same scenario code as on SQLite against another URL; its server start and time-driven wait
      // were what kept quick mode over a minute.
      h.log('  realtime on postgres: left out of quick mode (full mode runs it)');
      continue;
    }
    const rt = SPECS[h.quick ? 'quick' : 'full'][backend.name];
    const scenario = `realtime (${backend.name})`;
    const lat = await h.attempt(scenario, () =>
      h.repeat(
        `realtime on ${backend.name}: probes with ${rt.segments} live segments, background ${rt.eventsPerSec.toLocaleString('en-US')} events/s`,
        async (warm) =>
          realtimeLatency({ ...rt, databaseUrl: await backend.url(), seconds: warm ? 5 : rt.seconds, ticks: warm ? 1 : rt.ticks }),
        { warmup: rt.warmup, runs: rt.runs },
      ),
    );
    if (lat !== null) {
      const settleMs = rt.settleSeconds * 1000;
      const steady = lat.map((f) => {
        const kept = f.sentAtMs.map((at, i) => (at >= settleMs ? i : -1)).filter((i) => i >= 0);
        return { membershipMs: kept.map((i) => f.membershipMs[i]!), ingestMs: kept.map((i) => f.ingestMs[i]!) };
      });
      const probes = steady.reduce((n, f) => n + f.membershipMs.length, 0);
      const after = settleMs > 0 ? `, after the first ${rt.settleSeconds} s of load` : '';
      const load = `${rt.segments} live segments, ${Math.round(median(lat.map((f) => f.achievedPerSec))).toLocaleString('en-US')} events/s background, ${probes} probes${after}`;
      for (const p of [0.5, 0.99] as const)
        h.rows.push({
          scenario,
          figure: `event → Audience Entered visible, p${p * 100} (${load})`,
          value: steady.map((f) => percentile(f.membershipMs, p)),
          unit: 'ms',
          limit: {
            name: `ingest round trip p${p * 100}: event stored (its profile visible)`,
            value: steady.map((f) => percentile(f.ingestMs, p)),
          },
          lowerIsBetter: true,
        });
      if (settleMs > 0) {
        const cold = lat.map((f) => f.membershipMs.filter((_, i) => f.sentAtMs[i]! < settleMs));
        h.rows.push({
          scenario,
          figure: `event → Audience Entered visible, worst probe in the first ${rt.settleSeconds} s of load (fresh server; ${cold.reduce((n, c) => n + c.length, 0)} probes)`,
          value: cold.map((c) => (c.length === 0 ? Number.NaN : Math.max(...c))),
          unit: 'ms',
          lowerIsBetter: true,
        });
      }
      h.rows.push({
        scenario,
        figure: 'background traffic accepted (steady offered rate)',
        value: lat.map((f) => f.achievedPerSec),
        unit: 'events/s',
        limit: { name: 'offered', value: lat.map((f) => f.offeredPerSec) },
      });
      h.rows.push({
        scenario,
        figure: `runner time per event followed, read + evaluate + lock wait + write (${lat
          .map((f) =>
            Object.values(f.runnerUsPerEvent)
              .map((v) => v.toFixed(0))
              .join(' + '),
          )
          .join('; ')} µs)`,
        value: lat.map((f) => Object.values(f.runnerUsPerEvent).reduce((a, b) => a + b, 0)),
        unit: 'µs',
        lowerIsBetter: true,
      });
      h.rows.push({
        scenario,
        figure: `processor micro-batches during the load, mean: messages, ms taken, ms the oldest waited (${lat
          .map(
            (f) =>
              `${f.processorBatches.messages.toFixed(0)} / ${f.processorBatches.busyMs.toFixed(0)} / ${f.processorBatches.delayMs.toFixed(0)}`,
          )
          .join('; ')}): the commit delay`,
        value: lat.map((f) => f.processorBatches.delayMs),
        unit: 'ms',
        lowerIsBetter: true,
      });
      const ticks = lat.flatMap((f) => f.timerDelayMs);
      const missed = ticks.filter((t) => t === Infinity).length;
      h.rows.push({
        scenario,
        figure: `time-driven exit visible after due, within(${rt.tickWindowSeconds} seconds), worst of ${ticks.length}${missed > 0 ? ` (${missed} missed: the runner reached the tick after its window had closed)` : ''} (goal ≤ 1,000 ms)`,
        value: lat.map((f) => Math.max(...f.timerDelayMs)),
        unit: 'ms',
      });
    }
    if (rt.demoEvents === 0) {
      h.log(`  realtime on ${backend.name}: the throughput runs are left out of quick mode (full mode runs them)`);
      continue;
    }
    const demoRt: DemoSpec = { ...demo, events: rt.demoEvents };
    const tput = await h.attempt(`${scenario} throughput`, () =>
      h.repeat(
        `realtime on ${backend.name}: ${rt.demoEvents.toLocaleString('en-US')} demo events, 0 vs ${rt.segments} segments + ${rt.computedTraits} computed traits`,
        async () => {
          const none = await realtimeThroughput({ databaseUrl: await backend.url(), segments: 0, computedTraits: 0, demo: demoRt });
          const live = await realtimeThroughput({
            databaseUrl: await backend.url(),
            segments: rt.segments,
            computedTraits: rt.computedTraits,
            demo: demoRt,
          });
          return { none: none.perSec, live: live.perSec };
        },
        { warmup: false, runs: rt.runs },
      ),
    );
    if (tput !== null)
      h.rows.push({
        scenario,
        figure: `sustained end-to-end, demo mix (${rt.demoEvents.toLocaleString('en-US')} events), ${rt.segments} live segments + ${rt.computedTraits} computed traits (goal ≥ 70% of 0)`,
        value: tput.map((t) => t.live),
        unit: 'events/s',
        limit: { name: 'same batches, 0 segments', value: tput.map((t) => t.none) },
      });
  }
}
