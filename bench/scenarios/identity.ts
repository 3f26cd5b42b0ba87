/**
 * Identity and profiles end to end, against a real `tessera serve` fed by a separate load-generator
 * process (`bench/identity-load-generator.ts`), with the limits measured beside them:
 *
 * - `identityCeiling`: the in-memory resolution ceiling on the same demo batches (its own process).
 * - `identityEndToEnd`: the demo business sent over HTTP; events stored per second from the start of
 *   the load until the processor has consumed everything (ingest → identity → profiles → event store).
 *   On PostgreSQL also with several nodes sharing the store, and the database's own CPU per event.
 * - `profileReads`: many profiles put in the store through the real pipeline (identify calls of
 *   distinct people), then `GET /api/v1/profiles/lookup` latency, one connection and several.
 * - `bareLookupLimit`: the same lookups against a bare node:http server answering from a Map.
 */
import { SOURCE_REFRESH_MS } from '../../src/sources/source-service.ts';
import type { DemoSpec } from '../demo-traffic.ts';
import { cpuSecondsOfProcesses, runJsonScript, startProcess, stopProcess } from './processes.ts';
import { ADMIN_TOKEN, startServer, type BenchServer } from './server.ts';

export interface CeilingFigures {
  events: number;
  perSec: number;
  /** Issue 3's reference measure on the same batches: JSON.parse + Map lookup + trait merge, nothing standardised. */
  naivePerSec: number;
  profilesCreated: number;
  merges: number;
}

export function identityCeiling(demo: DemoSpec): Promise<CeilingFigures> {
  return runJsonScript<CeilingFigures>('bench/identity-ceiling.ts', [JSON.stringify(demo)]);
}

interface SendResult {
  startedAt: number;
  elapsed: number;
  /** The load generator's own CPU while sending, ms: it shares the machine's cores with the server. */
  cpuMs: number;
  accepted: number;
  acceptedPerSec: number;
  backpressured: number;
  statuses: Record<string, number>;
  p50: number;
  p99: number;
}

function send(spec: object): Promise<SendResult> {
  return runJsonScript<SendResult>('bench/identity-load-generator.ts', [JSON.stringify(spec)]);
}

export interface EndToEndFigures {
  /** Events stored per second (all nodes), start of load → everything accepted processed. */
  sustainedPerSec: number;
  acceptedPerSec: number;
  accepted: number;
  stored: number;
  profilesCreated: number;
  merges: number;
  identityWarnings: number;
  backpressured: number;
  p50: number;
  p99: number;
  peakRssMb: number;
  /** CPU the load generator spent per accepted event, µs: the harness's share of the two cores. */
  generatorCpuUsPerEvent: number;
  /** The server's CPU per stored event, µs, by thread (`tessera_thread_cpu_seconds_total`); empty off Linux. */
  serverCpuUsPerEvent: Record<string, number>;
  /** How long the server's threads waited for a core per stored event, µs (`tessera_thread_run_queue_seconds_total`). */
  serverRunQueueUsPerEvent: Record<string, number>;
  /**
   * On PostgreSQL, the database's own CPU per stored event, µs: every local `postgres` process (backends,
   * WAL writer, checkpointer); null on SQLite or when the database's processes are not visible here.
   */
  databaseCpuUsPerEvent: number | null;
  /**
   * The store's write lock held per stored event, µs (all nodes; after each batch's claim, to its commit):
   * on PostgreSQL the commit lock every node takes in turn, so 1 s ÷ this bounds the nodes together.
   */
  lockUsPerEvent: number;
}

/** A per-thread counter of the server's metrics, by thread. */
function perThread(m: Record<string, number>, metric: string): Record<string, number> {
  const out: Record<string, number> = {};
  const prefix = `${metric}{thread="`;
  for (const [name, value] of Object.entries(m))
    if (name.startsWith(prefix) && name.endsWith('"}')) out[name.slice(prefix.length, -2)] = value;
  return out;
}

const CPU = 'tessera_thread_cpu_seconds_total';
const RUN_QUEUE = 'tessera_thread_run_queue_seconds_total';
const WRITE_LOCK = 'tessera_processor_write_lock_duration_seconds_sum';

/** A sample summed over every node's metrics. */
const sumOf = (readings: ReadonlyArray<Record<string, number>>, name: string) => readings.reduce((n, m) => n + (m[name] ?? 0), 0);

/** µs per stored event of each thread's growth between two readings of a per-thread counter. */
function perEvent(before: Record<string, number>, after: Record<string, number>, stored: number): Record<string, number> {
  const out: Record<string, number> = {};
  if (stored > 0) for (const [thread, seconds] of Object.entries(after)) out[thread] = ((seconds - (before[thread] ?? 0)) * 1e6) / stored;
  return out;
}

/** Identity's counters, summed over every node's metrics (each counts what its own processor did). */
function identityCounts(readings: ReadonlyArray<Record<string, number>>) {
  return {
    stored: sumOf(readings, 'tessera_processor_events_stored_total'),
    profilesCreated: sumOf(readings, 'tessera_identity_profiles_created_total'),
    merges: sumOf(readings, 'tessera_identity_merges_total'),
    identityWarnings: sumOf(readings, 'tessera_identity_warnings_total'),
  };
}

/** A per-thread counter summed over every node's metrics, by thread. */
function perThreadOfNodes(readings: ReadonlyArray<Record<string, number>>, metric: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of readings) for (const [thread, value] of Object.entries(perThread(m, metric))) out[thread] = (out[thread] ?? 0) + value;
  return out;
}

export async function identityEndToEnd(opts: {
  databaseUrl?: string;
  /** The durable log on a NATS JetStream stream instead of the embedded file. */
  natsLog?: boolean;
  /**
   * Servers sharing the one PostgreSQL store, each with its own embedded log (as on separate
   * machines), the load spread over them round-robin per request; 1 by default.
   */
  nodes?: number;
  connections: number;
  demo: DemoSpec;
}): Promise<EndToEndFigures> {
  const nodes = opts.nodes ?? 1;
  if (nodes > 1 && (opts.databaseUrl === undefined || opts.natsLog))
    throw new Error('several nodes share a PostgreSQL store, each with its own embedded log');
  const servers: BenchServer[] = [];
  try {
    // One after the other: the first migrates the fresh schema.
    for (let n = 0; n < nodes; n++)
      servers.push(await startServer({ databaseUrl: opts.databaseUrl, natsLog: opts.natsLog, sharedDatabase: n > 0 }));
    const writeKey = await servers[0]!.createSource('bench-demo');
    // The other nodes learn of the new source when their cache of sources next refreshes.
    if (nodes > 1) await new Promise((r) => setTimeout(r, SOURCE_REFRESH_MS + 100));
    const before = await Promise.all(servers.map((s) => s.metrics()));
    const databaseBefore = cpuSecondsOfProcesses('postgres');
    const load = await send({
      mode: 'demo',
      url: servers[0]!.url,
      urls: servers.map((s) => s.url),
      writeKey,
      connections: opts.connections,
      demo: opts.demo,
    });
    let done = 0;
    for (const server of servers) done = Math.max(done, await server.drained());
    const databaseAfter = cpuSecondsOfProcesses('postgres');
    const after = await Promise.all(servers.map((s) => s.metrics()));
    const counts = identityCounts(after);
    return {
      sustainedPerSec: counts.stored / ((done - load.startedAt) / 1000),
      acceptedPerSec: load.acceptedPerSec,
      accepted: load.accepted,
      ...counts,
      backpressured: load.backpressured,
      p50: load.p50,
      p99: load.p99,
      peakRssMb: Math.max(...servers.map((s) => s.peakRssMb())),
      generatorCpuUsPerEvent: load.accepted > 0 ? (load.cpuMs * 1000) / load.accepted : 0,
      serverCpuUsPerEvent: perEvent(perThreadOfNodes(before, CPU), perThreadOfNodes(after, CPU), counts.stored),
      serverRunQueueUsPerEvent: perEvent(perThreadOfNodes(before, RUN_QUEUE), perThreadOfNodes(after, RUN_QUEUE), counts.stored),
      lockUsPerEvent: counts.stored > 0 ? ((sumOf(after, WRITE_LOCK) - sumOf(before, WRITE_LOCK)) * 1e6) / counts.stored : 0,
      databaseCpuUsPerEvent:
        opts.databaseUrl === undefined || databaseBefore === null || databaseAfter === null || counts.stored === 0
          ? null
          : ((databaseAfter - databaseBefore) * 1e6) / counts.stored,
    };
  } finally {
    // The first node last: it drops the schema.
    for (const server of servers.reverse()) await server.stop();
  }
}

export interface LookupFigures {
  requests: number;
  perSec: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
}

function lookup(url: string, profiles: number, connections: number, seconds: number, seed: number): Promise<LookupFigures> {
  return runJsonScript<LookupFigures>('bench/identity-load-generator.ts', [
    JSON.stringify({ mode: 'lookup', url, token: ADMIN_TOKEN, connections, seconds, profiles, seed }),
  ]);
}

export interface LookupWindows {
  /** One connection, one request at a time: the latency of a read. */
  single: LookupFigures[];
  /** `connections` keep-alive connections: reads per second and latency under load. */
  concurrent: LookupFigures[];
}

async function lookupWindows(
  url: string,
  o: { profiles: number; connections: number; seconds: number; windows: number; warmup: boolean },
): Promise<LookupWindows> {
  const out: LookupWindows = { single: [], concurrent: [] };
  if (o.warmup) await lookup(url, o.profiles, o.connections, o.seconds, 99);
  for (let w = 0; w < o.windows; w++) {
    out.single.push(await lookup(url, o.profiles, 1, o.seconds, 2 * w + 1));
    out.concurrent.push(await lookup(url, o.profiles, o.connections, o.seconds, 2 * w + 2));
  }
  return out;
}

export interface ProfileReadFigures extends LookupWindows {
  /** What the store held when read: profiles created and events stored to get there. */
  profiles: number;
  events: number;
  /** Identify events stored per second while loading them (one new profile each). */
  loadPerSec: number;
  loadSeconds: number;
  /** Server VmHWM after loading and reading: the memory bound of the largest run. */
  peakRssMb: number;
}

export async function profileReads(opts: {
  databaseUrl?: string;
  /** At most this many people… */
  profiles: number;
  /** …or as many as the pipeline stores in about this many seconds (sending stops then; the backlog is drained). */
  loadBudgetSeconds: number;
  connections: number;
  seconds: number;
  windows: number;
  warmup: boolean;
  log: (msg: string) => void;
}): Promise<ProfileReadFigures> {
  // A small backlog limit: the edge then answers 503 when the processor falls behind, the generator
  // waits and retries, so sending tracks storing and the time budget is not blown by a long drain.
  const server = await startServer({ databaseUrl: opts.databaseUrl, env: { TESSERA_MAX_BACKLOG_EVENTS: '30000' } });
  try {
    const writeKey = await server.createSource('bench-profiles');
    opts.log(
      `    loading up to ${opts.profiles.toLocaleString('en-US')} profiles through the pipeline (budget ${opts.loadBudgetSeconds} s)`,
    );
    const load = await send({
      mode: 'identify',
      url: server.url,
      writeKey,
      connections: opts.connections,
      profiles: opts.profiles,
      batchSize: 100,
      seconds: opts.loadBudgetSeconds,
    });
    const done = await server.drained();
    const counts = identityCounts([await server.metrics()]);
    const loadSeconds = (done - load.startedAt) / 1000;
    opts.log(
      `    ${counts.profilesCreated.toLocaleString('en-US')} profiles in ${loadSeconds.toFixed(1)} s (${Math.round(counts.stored / loadSeconds).toLocaleString('en-US')} events/s), peak RSS ${Math.round(server.peakRssMb())} MB; reading`,
    );
    const known = Math.min(load.accepted, counts.profilesCreated);
    const windows = await lookupWindows(server.url, { ...opts, profiles: known });
    return {
      ...windows,
      profiles: counts.profilesCreated,
      events: counts.stored,
      loadPerSec: counts.stored / loadSeconds,
      loadSeconds,
      peakRssMb: server.peakRssMb(),
    };
  } finally {
    await server.stop();
  }
}

export async function bareLookupLimit(opts: {
  profiles: number;
  connections: number;
  seconds: number;
  windows: number;
  warmup: boolean;
}): Promise<LookupWindows> {
  const { child, match } = await startProcess(
    ['--import', 'tsx', 'bench/bare-lookup-server.ts', String(opts.profiles), ADMIN_TOKEN],
    {},
    /(http:\/\/\S+)/,
  );
  try {
    return await lookupWindows(match[1]!, opts);
  } finally {
    await stopProcess(child);
  }
}
