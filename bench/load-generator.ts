/**
 * Load generator, run as its own process so it never shares the server's event loop. Sends realistic
 * 100-event Segment batches over keep-alive connections for a fixed time and prints one JSON line:
 * requests by status, events accepted, latency percentiles.
 *
 * Usage: node --import tsx bench/load-generator.ts <url> <writeKey> <seconds> <connections> [batchSize] [idPrefix] [maxEvents] [eventsPerSec]
 *
 * With `maxEvents`, sending also stops once that many events were accepted (the rate is over the
 * shorter window): it bounds how long the caller then waits for the processor to store them.
 * With `eventsPerSec`, batch n is not sent before `n × batchSize / eventsPerSec` seconds after the start:
 * a steady offered rate (the accepted rate printed is what the server actually took).
 */
import http from 'node:http';
import { makeBatchTemplate, stampBatch } from './batch-template.ts';

const [url, writeKey, secondsArg, connectionsArg, batchArg, prefixArg, maxEventsArg, rateArg] = process.argv.slice(2);
if (!url || !writeKey) throw new Error('usage: load-generator <url> <writeKey> <seconds> <connections> [batchSize] [idPrefix]');
const seconds = Number(secondsArg ?? 5);
const connections = Number(connectionsArg ?? 8);
const batchSize = Number(batchArg ?? 100);
const prefix = prefixArg || `r${process.pid}`;
const maxEvents = maxEventsArg ? Number(maxEventsArg) : Infinity;
const eventsPerSec = rateArg ? Number(rateArg) : Infinity;

const target = new URL('/v1/batch', url);
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
// A few distinct templates; each request stamps its own messageIds and the time of sending into its copy.
const templates = Array.from({ length: 8 }, (_, i) => makeBatchTemplate(batchSize, i));

const statuses: Record<string, number> = {};
const latencies: number[] = [];
let accepted = 0;
let retryAfterSeen = 0;
let counter = 0;
const deadline = Date.now() + seconds * 1000;
const startedAt = performance.now();

function send(body: string): Promise<{ status: number; retryAfter: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      target,
      {
        method: 'POST',
        agent,
        headers: { authorization: auth, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] !== undefined }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function lane(): Promise<void> {
  while (Date.now() < deadline && accepted < maxEvents) {
    const n = counter++;
    const dueAt = startedAt + ((n * batchSize) / eventsPerSec) * 1000;
    if (dueAt >= startedAt + seconds * 1000) break; // not due within the window: never sent
    if (dueAt > performance.now()) await new Promise((r) => setTimeout(r, dueAt - performance.now()));
    const body = stampBatch(templates[n % templates.length]!, batchSize, `${prefix}-${n}`, Date.now(), n);
    const t0 = performance.now();
    let result: { status: number; retryAfter: boolean };
    try {
      result = await send(body);
    } catch {
      statuses.error = (statuses.error ?? 0) + 1;
      continue;
    }
    latencies.push(performance.now() - t0);
    statuses[result.status] = (statuses[result.status] ?? 0) + 1;
    if (result.status === 200) accepted += batchSize;
    else if (result.retryAfter) {
      retryAfterSeen++;
      // Honour back-pressure the way SDKs do, briefly.
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

await Promise.all(Array.from({ length: connections }, lane));
const elapsed = (performance.now() - startedAt) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
process.stdout.write(
  `${JSON.stringify({ elapsed, statuses, accepted, acceptedPerSec: accepted / elapsed, p50: pct(0.5), p99: pct(0.99), retryAfterSeen, requests: latencies.length })}\n`,
);
agent.destroy();
