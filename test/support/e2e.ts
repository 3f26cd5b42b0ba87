/**
 * Helpers for the end-to-end tests that drive real SDK clients against a real Tessera: read events back
 * through the admin API and wait, with a bound, for the pipeline to catch up.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Harness } from './harness.ts';

/** One item of `GET /api/v1/events`. */
export interface StoredEvent {
  seq: number;
  sourceId: string;
  messageId: string;
  type: string;
  name: string | null;
  userId: string | null;
  anonymousId: string | null;
  timestamp: string;
  receivedAt: string;
  message: Record<string, unknown>;
}

export interface FailedEventItem {
  id: number;
  reason: string;
  detail: string;
  messageId: string | null;
  payload: string;
}

/** Every default wait in these tests is bounded by this. */
export const WAIT_MS = 15_000;

/** `GET /api/v1/events` with the given filters (newest first, up to 1000). */
export async function listEvents(h: Harness, query: Record<string, string> = {}): Promise<StoredEvent[]> {
  const qs = new URLSearchParams({ limit: '1000', ...query });
  const res = await h.admin(`/api/v1/events?${qs.toString()}`);
  const text = await res.text();
  assert.equal(res.status, 200, `GET /api/v1/events?${qs.toString()} answered ${res.status}: ${text}`);
  return (JSON.parse(text) as { items: StoredEvent[] }).items;
}

export async function listFailedEvents(h: Harness): Promise<FailedEventItem[]> {
  const res = await h.admin('/api/v1/failed-events?limit=1000');
  const text = await res.text();
  assert.equal(res.status, 200, `GET /api/v1/failed-events answered ${res.status}: ${text}`);
  return (JSON.parse(text) as { items: FailedEventItem[] }).items;
}

/** Reject with a clear message when `promise` has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Poll `probe` until it returns something other than `undefined`, for at most `timeoutMs`. On timeout,
 * fail with `what` and the last state `describe()` reports.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { timeoutMs = WAIT_MS, intervalMs = 50, describe }: { timeoutMs?: number; intervalMs?: number; describe?: () => Promise<string> } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) {
      const state = describe ? `; last state: ${await describe()}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${state}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Wait (bounded) for the processor to store everything accepted so far. */
export async function drained(h: Harness, timeoutMs = WAIT_MS): Promise<void> {
  await withTimeout(h.drained(), timeoutMs, 'the processor to drain the log');
}

/** Wait (bounded) until at least `count` events are stored; then return them all (newest first). */
export async function waitForEvents(h: Harness, count: number, timeoutMs = WAIT_MS): Promise<StoredEvent[]> {
  const summary = async () => {
    const [events, failed] = await Promise.all([listEvents(h), listFailedEvents(h)]);
    return `${events.length} stored (${events.map((e) => `${e.type}:${e.name ?? ''}`).join(', ')}), ${failed.length} failed (${failed
      .map((f) => `${f.reason}: ${f.detail}`)
      .join('; ')})`;
  };
  return pollUntil(
    `${count} events to be stored`,
    async () => {
      const events = await listEvents(h);
      return events.length >= count ? events : undefined;
    },
    { timeoutMs, describe: summary },
  );
}

/** The single stored event matching `query`; fails unless there is exactly one. */
export async function exactlyOne(h: Harness, query: Record<string, string>): Promise<StoredEvent> {
  const items = await listEvents(h, query);
  assert.equal(
    items.length,
    1,
    `expected exactly one event for ${JSON.stringify(query)}, got ${items.length}: ${JSON.stringify(items.map((e) => e.messageId))}`,
  );
  return items[0]!;
}

export const objectField = (event: StoredEvent, field: string): Record<string, unknown> => {
  const value = event.message[field];
  assert.ok(
    typeof value === 'object' && value !== null && !Array.isArray(value),
    `${event.type} message has no object ${field}: ${JSON.stringify(event.message)}`,
  );
  return value as Record<string, unknown>;
};

/** The top-level fields every stored event must carry consistently with its message. */
export function assertConsistent(event: StoredEvent, sourceId: string): void {
  assert.equal(event.sourceId, sourceId);
  assert.equal(event.message.type, event.type);
  assert.equal(event.message.messageId, event.messageId);
  assert.ok(event.messageId.length > 0 && event.messageId.length <= 100, `messageId ${JSON.stringify(event.messageId)}`);
  assert.equal(event.message.timestamp, event.timestamp, 'the message keeps the resolved event time');
  assert.equal(event.message.receivedAt, event.receivedAt);
  assert.equal(event.message.writeKey, undefined, 'the write key is not stored with the event');
  assert.equal(event.userId ?? undefined, event.message.userId ?? undefined);
  assert.equal(event.anonymousId ?? undefined, event.message.anonymousId ?? undefined);
}

/** One HTTP exchange seen by Tessera's own server (observed, never altered). */
export interface SeenExchange {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  status: number;
  responseHeaders: Record<string, number | string | string[] | undefined>;
}

/**
 * Record every request Tessera's HTTP server answers, with the response status and headers. A listener
 * placed before fastify's on the raw node server observes `writeHead` (fastify passes its headers there,
 * so `getHeaders()` alone would miss them); nothing is altered. Returns the live list and a stop function.
 */
export function recordExchanges(h: Harness): { seen: SeenExchange[]; stop: () => void } {
  const seen: SeenExchange[] = [];
  const server = h.tessera.http.server;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const written: Record<string, number | string | string[] | undefined> = {};
    const writeHead = res.writeHead;
    res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      const headers = args.find((a, i) => i > 0 && typeof a === 'object' && a !== null);
      if (Array.isArray(headers)) {
        // Either [[name, value], ...] or a flat [name, value, name, value, ...] list.
        const pairs: unknown[][] = headers.every((x) => Array.isArray(x)) ? (headers as unknown[][]) : [];
        if (pairs.length === 0) for (let i = 0; i + 1 < headers.length; i += 2) pairs.push([headers[i], headers[i + 1]]);
        for (const [k, v] of pairs) written[String(k).toLowerCase()] = v as string;
      } else if (headers) {
        for (const [k, v] of Object.entries(headers)) written[k.toLowerCase()] = v as string;
      }
      return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as ServerResponse['writeHead'];
    res.once('finish', () => {
      seen.push({
        method: req.method ?? '',
        path: (req.url ?? '').split('?')[0] ?? '',
        headers: { ...req.headers },
        status: res.statusCode,
        responseHeaders: { ...res.getHeaders(), ...written },
      });
    });
  };
  server.prependListener('request', onRequest);
  return { seen, stop: () => server.off('request', onRequest) };
}
