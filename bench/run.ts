/**
 * `npm run bench`: starts what it needs, runs each scenario several times, and prints one table where
 * every figure stands beside a limit measured in the same run on the same machine.
 *
 *   npm run bench               full mode (several runs, longer windows)
 *   npm run bench -- --quick    under a minute: one short run of each scenario (CI smoke test)
 *
 * Results are also written to bench/results/<timestamp>.json with the machine's description.
 * Machines here are shared and noisy: read the ratios, not the absolute numbers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, spread } from './stats.ts';
import { ingestScenario, type IngestFigures } from './scenarios/ingest.ts';
import { bareLimit, sqliteInsertLimit } from './scenarios/limits.ts';
import { postgresUrlForBench } from './scenarios/postgres-url.ts';

const quick = process.argv.includes('--quick');
const runs = quick ? 1 : 3;
const seconds = quick ? 3 : 8;
const connections = 8;

interface Row {
  scenario: string;
  figure: string;
  value: number[];
  unit: string;
  limit?: { name: string; value: number[] };
}
const rows: Row[] = [];

function log(msg: string) {
  process.stderr.write(`${msg}\n`);
}

async function repeat<T>(label: string, fn: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  // One warm-up run that is not counted, except in quick mode.
  if (!quick) {
    log(`  warm-up: ${label}`);
    await fn();
  }
  for (let i = 0; i < runs; i++) {
    log(`  run ${i + 1}/${runs}: ${label}`);
    out.push(await fn());
  }
  return out;
}

log(`Tessera bench (${quick ? 'quick' : 'full'}): ${runs} run(s) of ${seconds}s, ${connections} connections, 100-event batches`);
const limitRuns = await repeat('limit: bare node:http + JSON.parse', () => bareLimit(seconds, connections));
const limit = limitRuns.map((r) => r.acceptedPerSec);
const sqliteLimit = await repeat('limit: raw SQLite batch insert of the same rows', () => sqliteInsertLimit(quick ? 100_000 : 300_000));

const backends: Array<{ name: string; url?: string }> = [{ name: 'sqlite' }];
const pg = await postgresUrlForBench();
if (pg) backends.push({ name: 'postgres', url: pg });
else log('  PostgreSQL not reachable: its rows are left out of this run');

for (const backend of backends) {
  const figures: IngestFigures[] = await repeat(`ingest on ${backend.name}`, () =>
    ingestScenario({ seconds, connections, databaseUrl: backend.url }),
  );
  const ratioLimit = { name: 'bare node:http + JSON.parse', value: limit };
  rows.push({
    scenario: `ingest (${backend.name})`,
    figure: 'accepted rate',
    value: figures.map((f) => f.acceptedPerSec),
    unit: 'events/s',
    limit: ratioLimit,
  });
  rows.push({
    scenario: `ingest (${backend.name})`,
    figure: 'sustained end-to-end (stored by processor)',
    value: figures.map((f) => f.sustainedPerSec),
    unit: 'events/s',
    limit: backend.name === 'sqlite' ? { name: 'raw SQLite insert of the rows', value: sqliteLimit } : undefined,
  });
  rows.push({ scenario: `ingest (${backend.name})`, figure: 'request latency p50', value: figures.map((f) => f.p50), unit: 'ms' });
  rows.push({ scenario: `ingest (${backend.name})`, figure: 'request latency p99', value: figures.map((f) => f.p99), unit: 'ms' });
  rows.push({ scenario: `ingest (${backend.name})`, figure: 'server peak RSS', value: figures.map((f) => f.peakRssMb), unit: 'MB' });
  rows.push({
    scenario: `ingest (${backend.name})`,
    figure: '429/503 answers (back-pressure)',
    value: figures.map((f) => f.backpressured),
    unit: 'requests',
  });
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 2));
const table = [
  ['scenario', 'figure', 'median', 'spread', 'unit', 'same-run limit', 'ratio'],
  ...rows.map((r) => {
    const m = median(r.value);
    const lm = r.limit ? median(r.limit.value) : undefined;
    return [
      r.scenario,
      r.figure,
      fmt(m),
      `±${fmt(spread(r.value))}`,
      r.unit,
      r.limit && lm !== undefined ? `${fmt(lm)} (${r.limit.name})` : '',
      lm ? `${((m / lm) * 100).toFixed(1)}%` : '',
    ];
  }),
];
const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
const out = table.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
process.stdout.write(`\n${out}\n\n`);

const machine = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  memoryGb: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
};
const resultsDir = path.resolve('bench/results');
fs.mkdirSync(resultsDir, { recursive: true });
const file = path.join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
fs.writeFileSync(file, JSON.stringify({ mode: quick ? 'quick' : 'full', machine, runs, seconds, connections, rows }, null, 2));
process.stdout.write(`results written to ${path.relative(process.cwd(), file)}\n`);
