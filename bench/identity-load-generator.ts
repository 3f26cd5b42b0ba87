/**
 * Load generator of the identity scenarios, run as its own process (never the server's event loop).
 * One argument, a JSON spec; prints one JSON line.
 *
 * - `{"mode":"demo", url, writeKey, connections, demo: DemoSpec, urls?}`: builds the demo batches first
 *   (not timed), then sends every one of them once over keep-alive connections; with `urls` (several
 *   nodes), batch i goes to `urls[i % urls.length]`, as a round-robin load balancer would send it. Back-pressure (429/503) is
 *   honoured and the batch is sent again, so the whole data set arrives. Reports `startedAt` (wall
 *   clock, ms) so the caller can time "start of load → everything stored".
 * - `{"mode":"identify", url, writeKey, connections, profiles, batchSize, seconds?}`: identify calls of
 *   `profiles` distinct people (see `demo-traffic.ts`), sent the same way; with `seconds`, no new batch
 *   is started after that long (the people delivered are then persons 0…accepted-1).
 * - `{"mode":"lookup", url, token, connections, seconds, profiles, seed}`: `GET /api/v1/profiles/lookup`
 *   for random known people (by user id, or by e-mail for every other request) for `seconds`; latency
 *   percentiles and answers by status.
 */
import http from 'node:http';
import { bulkEmail, bulkUserId, demoBodies, identifyBody, type DemoSpec } from './demo-traffic.ts';

type Spec =
  | { mode: 'demo'; url: string; urls?: string[]; writeKey: string; connections: number; demo: DemoSpec }
  | { mode: 'identify'; url: string; writeKey: string; connections: number; profiles: number; batchSize: number; seconds?: number }
  | { mode: 'lookup'; url: string; token: string; connections: number; seconds: number; profiles: number; seed: number };

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });

interface Answer {
  status: number;
  retryAfter: number | null;
}

function request(method: 'GET' | 'POST', url: URL, headers: Record<string, string>, body?: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method, agent, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        res.resume();
        res.on('end', () => {
          const ra = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, retryAfter: ra === undefined ? null : Number(ra) });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const latencies: number[] = [];
const statuses: Record<string, number> = {};
const count = (key: string | number) => (statuses[key] = (statuses[key] ?? 0) + 1);

function percentiles() {
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return { p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), max: latencies[latencies.length - 1] ?? 0 };
}

/**
 * Send every body once (again after back-pressure), `connections` at a time; counts messages accepted.
 * With a `deadline` (performance.now() ms), no new batch is started after it: batches 0…sent-1 are all
 * delivered, so the people they carry are a contiguous range.
 */
async function sendAll(
  urls: readonly string[],
  writeKey: string,
  batches: number,
  bodyOf: (i: number) => string | Buffer,
  messagesIn: (i: number) => number,
  deadline = Infinity,
) {
  const targets = urls.map((u) => new URL('/v1/batch', u));
  const headers = { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`, 'content-type': 'application/json' };
  let next = 0;
  let accepted = 0;
  let backpressured = 0;
  let sent = 0;
  const lane = async () => {
    for (let i = next++; i < batches && performance.now() < deadline; i = next++) {
      sent = Math.max(sent, i + 1);
      const body = bodyOf(i);
      for (let attempt = 0; ; attempt++) {
        const t0 = performance.now();
        let answer: Answer;
        try {
          answer = await request('POST', targets[i % targets.length]!, headers, body);
        } catch {
          count('error');
          if (attempt > 20) break;
          continue;
        }
        latencies.push(performance.now() - t0);
        count(answer.status);
        if (answer.status === 200) {
          accepted += messagesIn(i);
          break;
        }
        if ((answer.status === 429 || answer.status === 503) && attempt < 200) {
          backpressured++;
          await new Promise((r) => setTimeout(r, Math.min(1000, (answer.retryAfter ?? 0.05) * 1000)));
          continue;
        }
        break; // any other answer: the batch is lost (counted in statuses)
      }
    }
  };
  const startedAt = Date.now();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: spec.connections }, lane));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    startedAt,
    elapsed,
    // This process's own CPU while sending, ms (it shares the machine with the server).
    cpuMs: (cpu.user + cpu.system) / 1000,
    batches: sent,
    accepted,
    acceptedPerSec: accepted / elapsed,
    backpressured,
    statuses,
    requests: latencies.length,
    ...percentiles(),
  };
}

async function lookups(s: Extract<Spec, { mode: 'lookup' }>) {
  const headers = { authorization: `Bearer ${s.token}` };
  // A small deterministic PRNG: every run asks for the same sequence of people.
  let state = s.seed >>> 0 || 1;
  const rand = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const deadline = performance.now() + s.seconds * 1000;
  let n = 0;
  const lane = async () => {
    while (performance.now() < deadline) {
      const i = Math.floor(rand() * s.profiles);
      const byEmail = n++ % 2 === 1;
      const q = byEmail
        ? `type=email&value=${encodeURIComponent(bulkEmail(i))}`
        : `type=user_id&value=${encodeURIComponent(bulkUserId(i))}`;
      const t0 = performance.now();
      try {
        const answer = await request('GET', new URL(`/api/v1/profiles/lookup?${q}`, s.url), headers);
        latencies.push(performance.now() - t0);
        count(answer.status);
      } catch {
        count('error');
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: s.connections }, lane));
  const elapsed = (performance.now() - t0) / 1000;
  return { elapsed, requests: latencies.length, perSec: latencies.length / elapsed, statuses, ...percentiles() };
}

let result: object;
if (spec.mode === 'demo') {
  // Encoded once, before the clock starts: the demo's bodies hold non-ASCII text, and encoding each
  // one as it is sent made this process spend ~29 µs of CPU an event (~7 with the bytes ready) of the
  // two cores it shares with the server.
  const bodies = demoBodies(spec.demo).map((b) => Buffer.from(b));
  const sizes = bodies.map((_, i) => Math.min(spec.demo.batchSize, spec.demo.events - i * spec.demo.batchSize));
  result = {
    ...(await sendAll(
      spec.urls ?? [spec.url],
      spec.writeKey,
      bodies.length,
      (i) => bodies[i]!,
      (i) => sizes[i]!,
    )),
    events: spec.demo.events,
    batches: bodies.length,
  };
} else if (spec.mode === 'identify') {
  // Built lazily (cheap): a million people's bodies would not fit comfortably in memory.
  const { profiles, batchSize } = spec;
  const now = Date.now();
  const size = (i: number) => Math.min(batchSize, profiles - i * batchSize);
  const deadline = spec.seconds === undefined ? Infinity : performance.now() + spec.seconds * 1000;
  result = await sendAll(
    [spec.url],
    spec.writeKey,
    Math.ceil(profiles / batchSize),
    (i) => identifyBody(i * batchSize, size(i), now),
    size,
    deadline,
  );
} else if (spec.mode === 'lookup') {
  result = await lookups(spec);
} else throw new Error(`unknown mode in ${process.argv[2]}`);
process.stdout.write(`${JSON.stringify(result)}\n`);
agent.destroy();
