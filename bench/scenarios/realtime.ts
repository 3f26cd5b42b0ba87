/**
 * Real-time segments (issue 4), against a real `tessera serve` on fresh data (SQLite, or PostgreSQL when
 * given a `databaseUrl`: a fresh schema, dropped when the server stops):
 *
 * - `realtimeLatency`: N live segments (created with `POST /api/v1/segments`, waited until `live`), a
 *   separate load-generator process sending background traffic at a steady rate, and a probe loop in
 *   this process (never the server's): each probe is one `Bench Probe` track event of a fresh user, which
 *   makes that user enter the probe segment. From the send, two pollers run side by side: the event
 *   stored (its profile visible in `GET /api/v1/profiles/lookup`: the plain ingest round trip, the limit) and its
 *   `Audience Entered` in `GET /api/v1/audience-events?after=…&segmentId=…`. Meanwhile a few `Bench Tick`
 *   events enter a `within(W seconds)` segment; the delay between the due instant (event time + W) and
 *   the `Audience Exited` being visible is the time-driven latency.
 * - `realtimeThroughput`: the same demo batches sent once to a server with no segments and to one with N
 *   live segments (+ computed traits); events per second from the start of the load until the last
 *   change is visible (the processor has drained and a final probe is visible: in the feed when there
 *   are segments, since the runner follows the stored events in order; stored otherwise).
 */
import { spawn } from 'node:child_process';
import type { DemoSpec } from '../demo-traffic.ts';
import { ROOT, runJsonScript } from './processes.ts';
import { ADMIN_TOKEN, startServer, type BenchServer } from './server.ts';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Between two polls of the same probe: the resolution of the latencies below. */
const POLL_MS = 5;

const BACKGROUND_RULES = [
  (i: number) => `event('Product Viewed').within(1 days).count() >= ${1 + (i % 5)}`,
  (i: number) => `event('Order Completed').where(property('price') > ${20 * (i % 5)}).within(7 days).count() >= 1`,
  (i: number) => `trait('plan') = 'pro' AND event('Product Added').within(${1 + (i % 6)} hours).count() >= 1`,
  (i: number) =>
    `event('Checkout Started').within(${20 + (i % 10)} days).count() >= 1 AND event('Order Completed').within(30 days).count() = 0`,
  (i: number) => `event('Email Opened').within(${1 + (i % 3)} days).count() >= 1 OR trait('plan') = 'pro'`,
  (i: number) => `event('Bench Probe ${i}').within(1 days).count() >= 1`,
];
/** The same shapes on the demo business's event names (the throughput runs send demo traffic). */
const DEMO_RULES = [
  (i: number) => `event('Product Viewed').within(${7 + (i % 20)} days).count() >= ${1 + (i % 4)}`,
  (i: number) => `event('Order Completed').where(property('revenue') > ${25 * (i % 5)}).within(30 days).count() >= ${1 + (i % 3)}`,
  (i: number) => `event('Product Added').within(${1 + (i % 6)} days).count() >= 1 AND event('Order Completed').within(7 days).count() = 0`,
  (i: number) => `event('Email Opened').within(${3 + (i % 10)} days).count() >= 1`,
  (i: number) => `event('Application Opened').within(30 days).count() >= ${2 + (i % 3)}`,
  (i: number) => `event('Bench Probe ${i}').within(1 days).count() >= 1`,
];
const DEMO_TRAITS = [
  (i: number) => ({
    kind: 'event_counter',
    key: `bench_orders_${i}`,
    event: { name: 'Order Completed' },
    window: { kind: 'within', amount: 1 + (i % 30), unit: 'days' },
  }),
  (i: number) => ({ kind: 'aggregation', fn: 'sum', property: 'revenue', key: `bench_revenue_${i}`, event: { name: 'Order Completed' } }),
  (i: number) => ({ kind: 'last', property: 'product_id', key: `bench_last_product_${i}`, event: { name: 'Product Viewed' } }),
  (i: number) => ({
    kind: 'event_counter',
    key: `bench_views_${i}`,
    event: { name: 'Product Viewed' },
    window: { kind: 'within', amount: 7, unit: 'days' },
  }),
];

async function api<T>(server: BenchServer, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: auth,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok)
    throw new Error(`${method} ${path}: ${res.status} ${await res.text()} (server's last error: ${server.lastError() || 'none'})`);
  return (await res.json()) as T;
}

/** Create segments (and computed traits) and wait until every one is `live`; the segment ids. */
async function createLive(server: BenchServer, queries: string[], traits: object[] = []): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, query] of queries.entries())
    ids.push((await api<{ id: string }>(server, 'POST', '/segments', { name: `bench ${i}`, query })).id);
  const traitIds: string[] = [];
  for (const [i, definition] of traits.entries())
    traitIds.push((await api<{ id: string }>(server, 'POST', '/computed-traits', { name: `bench trait ${i}`, definition })).id);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const statuses = [
      ...(await Promise.all(ids.map((id) => api<{ status: string }>(server, 'GET', `/segments/${id}`)))),
      ...(await Promise.all(traitIds.map((id) => api<{ status: string }>(server, 'GET', `/computed-traits/${id}`)))),
    ].map((s) => s.status);
    if (statuses.every((s) => s === 'live')) return ids;
    if (statuses.includes('failed')) throw new Error(`a segment or computed trait failed: ${statuses.join(', ')}`);
    if (Date.now() > deadline) throw new Error(`segments not live after 30 s: ${statuses.join(', ')}`);
    await sleep(50);
  }
}

/** One track event sent on its own; resolves when the server has accepted it (200). */
async function track(server: BenchServer, writeKey: string, userId: string, event: string, at: number): Promise<void> {
  const body = { batch: [{ type: 'track', event, userId, messageId: `${userId}-${event}`, timestamp: new Date(at).toISOString() }] };
  const res = await fetch(`${server.url}/v1/batch`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`probe event answered ${res.status}`);
}

interface Feed {
  items: Array<{ id: number; event: string; segmentId: string; profileId: string; at: string }>;
  nextAfter: number;
}

/** The feed's current end for a segment (where to follow it from). */
async function feedEnd(server: BenchServer, segmentId: string): Promise<number> {
  let after = 0;
  for (;;) {
    const page = await api<Feed>(server, 'GET', `/audience-events?after=${after}&limit=1000&segmentId=${segmentId}`);
    if (page.items.length === 0) return after;
    after = page.nextAfter;
  }
}

/**
 * Poll until `userId`'s profile exists (its event stored: the processor writes an event and the identity
 * it brings in one transaction); the time it was seen (performance.now()). An indexed lookup: polling
 * `/events?userId=` instead scans every event stored since the send (events are not indexed by userId),
 * which, every few ms, loaded the server's main thread more the further the processor fell behind.
 */
async function eventVisible(server: BenchServer, userId: string, timeoutMs = 120_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  const url = `${server.url}/api/v1/profiles/lookup?type=user_id&value=${encodeURIComponent(userId)}`;
  while (performance.now() < deadline) {
    const res = await fetch(url, { headers: auth });
    await res.arrayBuffer();
    if (res.status === 200) return performance.now();
    if (res.status !== 404) throw new Error(`profile lookup answered ${res.status} (server's last error: ${server.lastError() || 'none'})`);
    await sleep(POLL_MS);
  }
  throw new Error(`event of ${userId} not visible after ${timeoutMs / 1000} s`);
}

/** The id of `userId`'s profile, once the processor has stored its event; undefined before. */
async function profileIdOf(server: BenchServer, userId: string): Promise<string | undefined> {
  const res = await fetch(`${server.url}/api/v1/profiles/lookup?type=user_id&value=${encodeURIComponent(userId)}`, { headers: auth });
  if (res.status === 404) {
    await res.arrayBuffer();
    return undefined;
  }
  if (res.status !== 200) throw new Error(`profile lookup answered ${res.status} (server's last error: ${server.lastError() || 'none'})`);
  return ((await res.json()) as { id: string }).id;
}

/** Poll the feed of one segment from `after` until an item of `kind` appears; the time it was seen and the cursor after it. */
async function feedItem(server: BenchServer, segmentId: string, after: number, kind: string, timeoutMs = 120_000) {
  const deadline = performance.now() + timeoutMs;
  let cursor = after;
  while (performance.now() < deadline) {
    const page = await api<Feed>(server, 'GET', `/audience-events?after=${cursor}&limit=100&segmentId=${segmentId}`);
    const hit = page.items.find((i) => i.event === kind);
    if (hit) return { seenAt: performance.now(), after: hit.id, item: hit };
    if (page.items.length > 0) cursor = page.nextAfter;
    await sleep(POLL_MS);
  }
  const backlog = (await server.metrics()).tessera_pipeline_backlog_messages;
  const error = server.lastError();
  throw new Error(
    `no ${kind} in segment ${segmentId} after ${timeoutMs / 1000} s (backlog ${backlog} messages; server's last error: ${error || 'none'})`,
  );
}

interface LoadResult {
  elapsed: number;
  accepted: number;
  acceptedPerSec: number;
  statuses: Record<string, number>;
}

/** The bench load generator at a steady offered rate, in its own process. */
async function steadyLoad(url: string, writeKey: string, seconds: number, eventsPerSec: number): Promise<LoadResult> {
  const args = ['--import', 'tsx', 'bench/load-generator.ts', url, writeKey, String(seconds), '8', '100', '', '', String(eventsPerSec)];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise((r) => child.once('exit', r));
  const line = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`load generator failed (exit ${code}): ${out}`);
  return JSON.parse(line) as LoadResult;
}

export interface LatencyFigures {
  segments: number;
  offeredPerSec: number;
  /** Events accepted per second by the server during the load (the background traffic). */
  achievedPerSec: number;
  /** Per probe, ms from the send to the change visible through the API. */
  membershipMs: number[];
  ingestMs: number[];
  /** Per probe, ms from the start of the background load to its send. */
  sentAtMs: number[];
  /** Per time-driven probe, ms from the due instant to the `Audience Exited` visible. */
  timerDelayMs: number[];
  /** The runner's time per stored event it followed, µs, by phase of its steps (`tessera_audience_step_duration_seconds`). */
  runnerUsPerEvent: Record<(typeof RUNNER_PHASES)[number], number>;
  /** The processor's micro-batches of events during the run (`tessera_processor_batch_*`): means. */
  processorBatches: { count: number; messages: number; busyMs: number; delayMs: number };
}

const RUNNER_PHASES = ['read', 'evaluate', 'lock_wait', 'write'] as const;

/** The processor's micro-batches so far: how many, and their mean size, time taken and oldest message's wait. */
async function processorBatches(server: BenchServer): Promise<LatencyFigures['processorBatches']> {
  const m = await server.metrics();
  const count = m.tessera_processor_batch_messages_count ?? 0;
  return {
    count,
    messages: (m.tessera_processor_batch_messages_sum ?? NaN) / count,
    busyMs: ((m.tessera_processor_batch_duration_seconds_sum ?? NaN) * 1000) / count,
    delayMs: ((m.tessera_processor_commit_delay_seconds_sum ?? NaN) * 1000) / count,
  };
}

/** The runner's time per event followed so far, µs by phase, from the server's metrics. */
async function runnerTime(server: BenchServer): Promise<LatencyFigures['runnerUsPerEvent']> {
  const m = await server.metrics();
  const events = m.tessera_audience_events_total ?? 0;
  const perEvent = (phase: string) => ((m[`tessera_audience_step_duration_seconds_sum{phase="${phase}"}`] ?? NaN) * 1e6) / events;
  return Object.fromEntries(RUNNER_PHASES.map((p) => [p, perEvent(p)])) as LatencyFigures['runnerUsPerEvent'];
}

export async function realtimeLatency(opts: {
  databaseUrl?: string;
  segments: number;
  seconds: number;
  eventsPerSec: number;
  ticks: number;
  /** The time-driven segment's window, s (its exits fall due this long after each tick). */
  tickWindowSeconds: number;
}): Promise<LatencyFigures> {
  const server = await startServer({ databaseUrl: opts.databaseUrl });
  try {
    const writeKey = await server.createSource('bench-realtime');
    const background = Array.from({ length: Math.max(0, opts.segments - 2) }, (_, i) => BACKGROUND_RULES[i % BACKGROUND_RULES.length]!(i));
    const [probeSeg, tickSeg] = await createLive(server, [
      "event('Bench Probe').within(1 days).count() >= 1",
      `event('Bench Tick').within(${opts.tickWindowSeconds} seconds).count() >= 1`,
      ...background,
    ]);
    const run = `${Date.now().toString(36)}`;
    const load = steadyLoad(server.url, writeKey, opts.seconds, opts.eventsPerSec);
    const loadStart = performance.now();
    const loadEnd = loadStart + opts.seconds * 1000;
    await sleep(300); // let the background traffic start

    // Time-driven probes: ticks ≥ 1 s apart, each a new user entering the `within(W seconds)` segment;
    // its exit is due W s after its event. The feed is followed once and each exit matched to its tick by
    // profile. A tick the runner reaches only after its window has closed never enters (docs/segments.md,
    // late events), so it has no exit: it counts as missed (Infinity) rather than failing the run.
    const timers = (async () => {
      let cursor = await feedEnd(server, tickSeg!);
      const due: number[] = [];
      const profileOf: Array<string | undefined> = [];
      const exitSeen = new Map<string, number>(); // profile id → performance.now() when its exit was seen
      let sent = 0;
      // The ticks are sent while the exits are watched: an exit is due a window after its tick, while the last
      // tick goes out (ticks - 1) s after the first, so polling only after sending them all would see the
      // first exits late by the wait itself.
      const sending = (async () => {
        for (let k = 0; k < opts.ticks; k++) {
          const at = Date.now();
          due[k] = at + opts.tickWindowSeconds * 1000;
          await track(server, writeKey, `tick-${run}-${k}`, 'Bench Tick', at);
          sent = k + 1;
          if (k < opts.ticks - 1) await sleep(1_000);
        }
      })();
      let sendFailed = false;
      sending.catch(() => (sendFailed = true)); // awaited below, where it throws
      const startedAt = Date.now();
      // Every exit is due within W s of the last tick; 30 s more before one counts as missed.
      const giveUpAt = () => (sent < opts.ticks ? startedAt + opts.ticks * 1000 + 120_000 : Math.max(...due) + 30_000);
      while (!sendFailed && Date.now() < giveUpAt()) {
        const page = await api<Feed>(server, 'GET', `/audience-events?after=${cursor}&limit=1000&segmentId=${tickSeg}`);
        const now = performance.now();
        for (const item of page.items)
          if (item.event === 'Audience Exited' && !exitSeen.has(item.profileId)) exitSeen.set(item.profileId, now);
        if (page.items.length > 0) cursor = page.nextAfter;
        for (let k = 0; k < sent; k++) if (profileOf[k] === undefined) profileOf[k] = await profileIdOf(server, `tick-${run}-${k}`);
        if (sent === opts.ticks && profileOf.every((p) => p !== undefined && exitSeen.has(p))) break;
        await sleep(POLL_MS);
      }
      await sending;
      // performance.now() → wall clock for the comparison with the due instant (event time + W).
      return due.map((d, k) => {
        const seen = exitSeen.get(profileOf[k] ?? '');
        return seen === undefined ? Infinity : Date.now() - (performance.now() - seen) - d;
      });
    })();
    timers.catch(() => undefined); // awaited below; a failure must not crash the bench while the probes run

    // Event-driven probes, one at a time, until the background load ends.
    const membershipMs: number[] = [];
    const ingestMs: number[] = [];
    const sentAtMs: number[] = [];
    let after = await feedEnd(server, probeSeg!);
    for (let k = 0; performance.now() < loadEnd; k++) {
      const user = `probe-${run}-${k}`;
      const t0 = performance.now();
      sentAtMs.push(t0 - loadStart);
      await track(server, writeKey, user, 'Bench Probe', Date.now());
      const [visible, entered] = await Promise.all([eventVisible(server, user), feedItem(server, probeSeg!, after, 'Audience Entered')]);
      after = entered.after;
      ingestMs.push(visible - t0);
      membershipMs.push(entered.seenAt - t0);
      await sleep(50);
    }
    const loadResult = await load;
    const timerDelayMs = await timers;
    return {
      runnerUsPerEvent: await runnerTime(server),
      processorBatches: await processorBatches(server),
      segments: opts.segments,
      offeredPerSec: opts.eventsPerSec,
      achievedPerSec: loadResult.acceptedPerSec,
      membershipMs,
      ingestMs,
      sentAtMs,
      timerDelayMs,
    };
  } finally {
    await server.stop();
  }
}

export interface ThroughputFigures {
  segments: number;
  computedTraits: number;
  events: number;
  /** Events per second, start of the load → the last change visible. */
  perSec: number;
  /** With segments: the runner's time per event, as in `LatencyFigures`. */
  runnerUsPerEvent: LatencyFigures['runnerUsPerEvent'] | null;
}

/** The demo batches sent once; events per second until everything is stored and (with segments) evaluated. */
export async function realtimeThroughput(opts: {
  databaseUrl?: string;
  segments: number;
  computedTraits: number;
  demo: DemoSpec;
}): Promise<ThroughputFigures> {
  const server = await startServer({ databaseUrl: opts.databaseUrl });
  try {
    const writeKey = await server.createSource('bench-demo');
    let probeSeg: string | undefined;
    if (opts.segments > 0) {
      const rules = Array.from({ length: opts.segments - 1 }, (_, i) => DEMO_RULES[i % DEMO_RULES.length]!(i));
      const traits = Array.from({ length: opts.computedTraits }, (_, i) => DEMO_TRAITS[i % DEMO_TRAITS.length]!(i));
      [probeSeg] = await createLive(server, ["event('Bench Probe').within(1 days).count() >= 1", ...rules], traits);
    }
    const after = probeSeg ? await feedEnd(server, probeSeg) : 0;
    const load = await runJsonScript<{ startedAt: number; accepted: number }>('bench/identity-load-generator.ts', [
      JSON.stringify({ mode: 'demo', url: server.url, writeKey, connections: 8, demo: opts.demo }),
    ]);
    await server.drained();
    // A final probe: the runner follows stored events in order, so once its change is visible every
    // demo event before it has been evaluated.
    const user = `final-${Date.now()}`;
    await track(server, writeKey, user, 'Bench Probe', Date.now());
    if (probeSeg) await feedItem(server, probeSeg, after, 'Audience Entered', 120_000);
    else await eventVisible(server, user, 120_000);
    const done = Date.now();
    return {
      segments: opts.segments,
      computedTraits: opts.computedTraits,
      events: load.accepted,
      perSec: load.accepted / ((done - load.startedAt) / 1000),
      runnerUsPerEvent: probeSeg ? await runnerTime(server) : null,
    };
  } finally {
    await server.stop();
  }
}
