/**
 * Identity and profiles end to end, against a real `tessera serve` fed by a separate load-generator
 * process (`bench/identity-load-generator.ts`), with the limits measured beside them:
 *
 * - `identityCeiling`: the in-memory resolution ceiling on the same demo batches (its own process).
 * - `identityEndToEnd`: the demo business sent over HTTP; events stored per second from the start of
 *   the load until the processor has consumed everything (ingest → identity → profiles → event store).
 * - `profileReads`: many profiles put in the store through the real pipeline (identify calls of
 *   distinct people), then `GET /api/v1/profiles/lookup` latency, one connection and several.
 * - `bareLookupLimit`: the same lookups against a bare node:http server answering from a Map.
 */
import type { DemoSpec } from '../demo-traffic.ts';
import { runJsonScript, startProcess, stopProcess } from './processes.ts';
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
  /** Events stored per second, start of load → everything accepted processed. */
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

/** µs per stored event of each thread's growth between two readings of a per-thread counter. */
function perEvent(before: Record<string, number>, after: Record<string, number>, stored: number): Record<string, number> {
  const out: Record<string, number> = {};
  if (stored > 0) for (const [thread, seconds] of Object.entries(after)) out[thread] = ((seconds - (before[thread] ?? 0)) * 1e6) / stored;
  return out;
}

async function identityCounts(server: BenchServer) {
  const m = await server.metrics();
  return {
    stored: m.tessera_processor_events_stored_total ?? 0,
    profilesCreated: m.tessera_identity_profiles_created_total ?? 0,
    merges: m.tessera_identity_merges_total ?? 0,
    identityWarnings: m.tessera_identity_warnings_total ?? 0,
  };
}

export async function identityEndToEnd(opts: {
  databaseUrl?: string;
  /** The durable log on a NATS JetStream stream instead of the embedded file. */
  natsLog?: boolean;
  connections: number;
  demo: DemoSpec;
}): Promise<EndToEndFigures> {
  const server = await startServer({ databaseUrl: opts.databaseUrl, natsLog: opts.natsLog });
  try {
    const writeKey = await server.createSource('bench-demo');
    const before = await server.metrics();
    const load = await send({ mode: 'demo', url: server.url, writeKey, connections: opts.connections, demo: opts.demo });
    const done = await server.drained();
    const after = await server.metrics();
    const counts = await identityCounts(server);
    return {
      sustainedPerSec: counts.stored / ((done - load.startedAt) / 1000),
      acceptedPerSec: load.acceptedPerSec,
      accepted: load.accepted,
      ...counts,
      backpressured: load.backpressured,
      p50: load.p50,
      p99: load.p99,
      peakRssMb: server.peakRssMb(),
      generatorCpuUsPerEvent: load.accepted > 0 ? (load.cpuMs * 1000) / load.accepted : 0,
      serverCpuUsPerEvent: perEvent(perThread(before, CPU), perThread(after, CPU), counts.stored),
      serverRunQueueUsPerEvent: perEvent(perThread(before, RUN_QUEUE), perThread(after, RUN_QUEUE), counts.stored),
    };
  } finally {
    await server.stop();
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
    const counts = await identityCounts(server);
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
