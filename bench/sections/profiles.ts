/**
 * The profiles section of `npm run bench` (issue 3): profiles put in the store through the real pipeline
 * (as many as fit a time budget per backend), then lookups by identifier over 1 and several connections,
 * beside a bare node:http server answering from a Map with as many people; and the largest run's memory.
 */
import type { Backend, Harness, Row } from '../harness.ts';
import { bareLookupLimit, profileReads, type LookupWindows } from '../scenarios/identity.ts';

export interface ProfilesSectionOptions {
  backends: Backend[];
  connections: number;
  /** Each lookup window, seconds. */
  lookupSeconds: number;
  /** Per backend: how many profiles to load at most, within how many seconds. */
  profileLoad: Record<Backend['name'], { profiles: number; budget: number }>;
}

export async function profilesSection(h: Harness, o: ProfilesSectionOptions): Promise<void> {
  const windows = h.quick ? 1 : h.runs;
  let largest = 0;
  const measured: Array<{ backend: string; figures: Awaited<ReturnType<typeof profileReads>> }> = [];
  for (const backend of o.backends) {
    const target = o.profileLoad[backend.name];
    h.log(`  profile reads on ${backend.name}`);
    const figures = await h.attempt(`profiles (${backend.name})`, async () =>
      profileReads({
        databaseUrl: await backend.url(),
        profiles: target.profiles,
        loadBudgetSeconds: target.budget,
        connections: o.connections,
        seconds: o.lookupSeconds,
        windows,
        warmup: !h.quick,
        log: h.log,
      }),
    );
    if (figures === null) continue;
    largest = Math.max(largest, figures.profiles);
    measured.push({ backend: backend.name, figures });
  }
  h.log(`  limit: bare node:http + Map lookup (${largest.toLocaleString('en-US')} people)`);
  const bare: LookupWindows = await bareLookupLimit({
    profiles: Math.max(1, largest),
    connections: o.connections,
    seconds: o.lookupSeconds,
    windows,
    warmup: !h.quick,
  });
  const bareName = 'bare node:http + Map lookup';
  for (const { backend, figures: f } of measured) {
    const scenario = `profiles (${backend})`;
    const n = f.profiles.toLocaleString('en-US');
    const lat = (w: keyof LookupWindows, p: 'p50' | 'p99', label: string): Row => ({
      scenario,
      figure: `lookup by identifier ${p}, ${label} (${n} profiles)`,
      value: f[w].map((x) => x[p]),
      unit: 'ms',
      limit: { name: bareName, value: bare[w].map((x) => x[p]) },
      lowerIsBetter: true,
    });
    h.rows.push(lat('single', 'p50', '1 connection'));
    h.rows.push(lat('single', 'p99', '1 connection'));
    h.rows.push({
      scenario,
      figure: `lookups per second, ${o.connections} connections`,
      value: f.concurrent.map((x) => x.perSec),
      unit: 'req/s',
      limit: { name: bareName, value: bare.concurrent.map((x) => x.perSec) },
    });
    h.rows.push(lat('concurrent', 'p99', `${o.connections} connections`));
    h.rows.push({
      scenario,
      figure: `profile load rate (identify calls, 1 new profile each)`,
      value: [f.loadPerSec],
      unit: 'events/s',
    });
    h.rows.push({
      scenario,
      figure: `memory: server peak RSS, largest run (${f.events.toLocaleString('en-US')} events → ${n} profiles, then reads)`,
      value: [f.peakRssMb],
      unit: 'MB',
    });
  }
}
