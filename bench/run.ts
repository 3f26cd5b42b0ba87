/**
 * `npm run bench`: starts what it needs, runs each scenario several times, and prints one table where
 * every figure stands beside a limit measured in the same run on the same machine.
 *
 *   npm run bench                          full mode (warm-up + 3 runs, longer windows, up to 1M profiles; < 15 min)
 *   npm run bench -- --quick               one short run of each scenario (CI smoke test; about a minute)
 *   npm run bench -- --only=identity,profiles   a subset: ingest, identity, profiles, segments, realtime, import
 *   npm run bench -- --only=segments --segments-profiles=1000000   segments at another scale (10 events per profile;
 *                                          1M profiles = 10M events: ~10 min of seeding per backend, beyond the 15-minute budget)
 *   npm run bench -- --only=memory --memory-events=10000000   issue 3's memory bound: the demo business over HTTP
 *                                          to a default server, its peak RSS (never in the full run: ~15 min at 10M)
 *   npm run bench -- --only=profiles --profiles-budget=300   the profile load's time budget per backend, seconds (default
 *                                          100 on SQLite, 40 on PostgreSQL): enough to reach the issue's 1M profiles
 *
 * Results are also written to bench/results/<timestamp>.json with the machine's description.
 * Machines here are shared and noisy: read the ratios, not the absolute numbers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DemoSpec } from './demo-traffic.ts';
import { createHarness, type Backend, type LogVariant } from './harness.ts';
import { median, spread } from './stats.ts';
import { natsReachable } from './scenarios/nats-log.ts';
import { dropBenchSchema, postgresUrlForBench } from './scenarios/postgres-url.ts';

const quick = process.argv.includes('--quick');
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const segmentsProfiles = process.argv.find((a) => a.startsWith('--segments-profiles='))?.slice('--segments-profiles='.length);
const profilesBudget = process.argv.find((a) => a.startsWith('--profiles-budget='))?.slice('--profiles-budget='.length);
const memoryEvents = Number(process.argv.find((a) => a.startsWith('--memory-events='))?.slice('--memory-events='.length) ?? 10_000_000);
const runs = quick ? 1 : 3;
const seconds = quick ? 1.5 : 8;
const connections = 8;
const rawRows = quick ? 30_000 : 300_000;
/** PostgreSQL inserts ~10× slower here: fewer rows give the same rate in a tenth of the time. */
const rawRowsPostgres = quick ? 10_000 : 60_000;
/** Most events one ingest run may have accepted: the drain after it must fit the time budget. */
const ingestMaxEvents = quick ? 20_000 : 150_000;
/** The demo business sent in the identity scenario (same batches for the in-memory ceiling). */
const DAY = 86_400_000;
const demo: DemoSpec = {
  seed: 1,
  events: quick ? 10_000 : 60_000,
  startMs: Math.floor(Date.now() / DAY) * DAY - 30 * DAY,
  days: 30,
  batchSize: 100,
};
/** Profile reads: how many people to load at most, within how long, per backend; lookup windows. */
const budgetOf = (fallback: number) => (profilesBudget === undefined ? fallback : Number(profilesBudget));
const profileLoad = quick
  ? { sqlite: { profiles: 5_000, budget: budgetOf(4) }, postgres: { profiles: 5_000, budget: budgetOf(4) } }
  : { sqlite: { profiles: 1_000_000, budget: budgetOf(100) }, postgres: { profiles: 1_000_000, budget: budgetOf(40) } };
if (!(profileLoad.sqlite.budget > 0)) throw new Error(`--profiles-budget must be a number of seconds, got ${profilesBudget}`);
const lookupSeconds = quick ? 0.5 : 3;
const started = performance.now();

const h = createHarness(quick, runs);
const { rows, log, attempt, repeat } = h;
const wanted = (section: string) => only === undefined || only.includes(section);

log(`Tessera bench (${quick ? 'quick' : 'full'}): ${runs} run(s) of ${seconds}s, ${connections} connections, 100-event batches`);
const pgProbe = await postgresUrlForBench();
if (pgProbe) await dropBenchSchema(pgProbe);
else log('  PostgreSQL not reachable: its rows are left out of this run');
const backends: Backend[] = [{ name: 'sqlite', url: async () => undefined }];
// A fresh schema for every server start, dropped when it stops: every run starts empty, as on SQLite.
if (pgProbe)
  backends.push({
    name: 'postgres',
    url: async () => {
      const url = await postgresUrlForBench();
      if (!url) throw new Error('PostgreSQL is no longer reachable'); // never silently SQLite instead
      return url;
    },
  });

// The ingestion and identity scenarios also run PostgreSQL with the durable log on NATS JetStream (the
// deployment for edges on several machines), when NATS answers.
const natsOk = await natsReachable();
if (!natsOk) log('  NATS JetStream not reachable: the NATS-log rows are left out of this run');
const logVariants: LogVariant[] = backends.flatMap((b) => [
  { backend: b, natsLog: false, label: b.name },
  ...(b.name === 'postgres' && natsOk ? [{ backend: b, natsLog: true, label: 'postgres, NATS log' }] : []),
]);

// ---- ingestion: accepted and sustained rates, latency, back-pressure (bench/sections/ingest.ts) ----------
if (wanted('ingest')) {
  const { ingestSection } = await import('./sections/ingest.ts');
  await ingestSection(h, {
    logVariants,
    connections,
    seconds,
    maxEvents: ingestMaxEvents,
    rawRows,
    rawRowsPostgres,
    postgres: pgProbe !== null,
  });
}

// ---- identity: in-memory ceiling, end to end with the demo mix, the processor alone (bench/sections/identity.ts) ----
if (wanted('identity')) {
  const { identitySection } = await import('./sections/identity.ts');
  await identitySection(h, { demo, logVariants, connections, rawRows, rawRowsPostgres, postgres: pgProbe !== null });
}

// ---- profiles: read by identifier with many profiles in the store; memory of the largest run (bench/sections/profiles.ts) ----
if (wanted('profiles')) {
  const { profilesSection } = await import('./sections/profiles.ts');
  await profilesSection(h, { backends, connections, lookupSeconds, profileLoad });
}

// ---- segments (issue 4): backfill and preview on a large store, each backend (bench/sections/segments.ts) ----
if (wanted('segments')) {
  const { segmentsSection } = await import('./sections/segments.ts');
  await segmentsSection(h, backends, segmentsProfiles === undefined ? undefined : Number(segmentsProfiles));
}

// ---- realtime (issue 4): event → membership latency under load, time-driven exits, throughput cost (bench/sections/realtime.ts) ----
if (wanted('realtime')) {
  const { realtimeSection } = await import('./sections/realtime.ts');
  await realtimeSection(h, backends, demo);
}

// ---- import (issue 6): a CSV contact export through POST /api/v1/sources/:id/imports ----------------
if (wanted('import')) {
  const { csvFor, csvParseLimit, importScenario } = await import('./scenarios/import.ts');
  const importRows = quick ? 2_000 : 50_000;
  const csv = csvFor(importRows);
  const parseLimit = await repeat(`limit: csv-parse of the same ${importRows.toLocaleString('en-US')} rows`, async () =>
    csvParseLimit(csv),
  );
  for (const backend of backends) {
    const scenario = `import (${backend.name})`;
    const figures = await attempt(scenario, () =>
      repeat(`CSV import of ${importRows.toLocaleString('en-US')} contacts on ${backend.name}`, async () =>
        importScenario(csv, await backend.url()),
      ),
    );
    if (figures === null) continue;
    const limit = { name: 'csv-parse alone, same text', value: parseLimit };
    rows.push({
      scenario,
      figure: `rows/s until 200 (durable in the log; ${figures[0]!.rows.toLocaleString('en-US')} rows, ${figures[0]!.rejected} rejected)`,
      value: figures.map((f) => f.acceptedRowsPerSec),
      unit: 'rows/s',
      limit,
    });
    rows.push({
      scenario,
      figure: 'rows/s until stored (profiles resolved)',
      value: figures.map((f) => f.storedRowsPerSec),
      unit: 'rows/s',
      limit,
    });
  }
}
// ---- end of the import block ----

// ---- memory (issue 3): 10M events into ~1M profiles, peak RSS; only when asked for (bench/scenarios/memory.ts) ----
if (only?.includes('memory')) {
  const { memoryRun } = await import('./scenarios/memory.ts');
  if (!(memoryEvents > 0)) throw new Error('--memory-events must be a positive number of events');
  log(`  memory on sqlite: ${memoryEvents.toLocaleString('en-US')} demo events over HTTP (tessera demo --url)`);
  const f = await attempt('memory (sqlite)', () => memoryRun({ events: memoryEvents, databaseUrl: undefined }));
  if (f !== null) {
    log(
      `    ${f.events.toLocaleString('en-US')} events, ${f.profiles.toLocaleString('en-US')} profiles: sent in ${f.sentSeconds.toFixed(0)} s, stored in ${f.storedSeconds.toFixed(0)} s`,
    );
    const scenario = 'memory (sqlite)';
    rows.push({
      scenario,
      figure: `server peak RSS, ${f.events.toLocaleString('en-US')} demo events → ${f.profiles.toLocaleString('en-US')} profiles (${f.merges.toLocaleString('en-US')} merges)`,
      value: [f.peakRssMb],
      unit: 'MB',
      limit: { name: "the issue's bound, 1 GB", value: [1024] },
      lowerIsBetter: true,
    });
    rows.push({
      scenario,
      figure: 'stored end to end, the generator on the same machine',
      value: [f.events / f.storedSeconds],
      unit: 'events/s',
    });
  }
}

// ---- the table -----------------------------------------------------------------------------------
const fmt = (n: number) =>
  n >= 100 ? Math.round(n).toLocaleString('en-US') : n >= 0.1 || n === 0 ? n.toFixed(n >= 10 ? 1 : 2) : n.toPrecision(2); // 0.0042, not 0.00
const ratio = (m: number, l: number | undefined, lowerIsBetter?: boolean) =>
  !l ? '' : lowerIsBetter ? `${(m / l).toFixed(1)}× limit` : `${((m / l) * 100).toFixed(1)}%`;
const table: string[][] = [['scenario', 'figure', 'median', 'spread', 'unit', 'same-run limit', 'ratio']];
for (const r of rows) {
  if (r.failed !== undefined) {
    table.push([r.scenario, r.figure, '—', '', '', '', '']);
    continue;
  }
  const m = median(r.value);
  const lm = r.limit ? median(r.limit.value) : undefined;
  table.push([
    r.scenario,
    r.figure,
    fmt(m),
    `±${fmt(spread(r.value))}`,
    r.unit,
    r.limit && lm !== undefined ? `${fmt(lm)} (${r.limit.name})` : '',
    ratio(m, lm, r.lowerIsBetter),
  ]);
  for (const extra of r.alsoBeside ?? []) {
    const le = median(extra.value);
    table.push(['', '', '', '', '', `${fmt(le)} (${extra.name})`, ratio(m, le, r.lowerIsBetter)]);
  }
}
const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
const out = table
  .map((row) =>
    row
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  )
  .join('\n');
const totalSeconds = (performance.now() - started) / 1000;
process.stdout.write(`\n${out}\n\n(${quick ? 'quick' : 'full'} mode, ${totalSeconds.toFixed(0)} s; spread = half the range of the runs)\n`);

const machine = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  memoryGb: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
  loadAverageAtEnd: os.loadavg(),
};
const resultsDir = path.resolve('bench/results');
fs.mkdirSync(resultsDir, { recursive: true });
const file = path.join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
fs.writeFileSync(
  file,
  JSON.stringify(
    { mode: quick ? 'quick' : 'full', machine, runs, seconds, connections, demo, profileLoad, lookupSeconds, totalSeconds, rows },
    null,
    2,
  ),
);
process.stdout.write(`results written to ${path.relative(process.cwd(), file)}\n`);
const failures = rows.filter((r) => r.failed !== undefined);
if (failures.length > 0) {
  process.stdout.write(`${failures.length} scenario(s) could not be measured:\n`);
  for (const r of failures) process.stdout.write(`  ${r.scenario}: ${r.failed}\n`);
  process.exitCode = 1;
}
