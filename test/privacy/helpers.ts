/** Shared helpers for the privacy and consent HTTP tests: backends, sending events, waiting for requests. */
import assert from 'node:assert/strict';
import { basicAuth, type Harness } from '../support/harness.ts';

export { backends } from '../support/backends.ts';

let counter = 0;

/** Send messages through the ingestion edge (answers must be 200), then wait until the processor has them. */
export async function send(h: Harness, batch: Array<Record<string, unknown>>, writeKey = h.writeKey): Promise<void> {
  const res = await fetch(`${h.url}/v1/batch`, {
    method: 'POST',
    headers: { authorization: basicAuth(writeKey), 'content-type': 'application/json' },
    body: JSON.stringify({
      batch: batch.map((m) => ({ messageId: `msg-${++counter}-${Math.random()}`, timestamp: '2026-11-01T10:00:00Z', ...m })),
    }),
  });
  assert.equal(res.status, 200, await res.text());
  await h.drained();
}

export async function json<T = Record<string, unknown>>(res: Response): Promise<{ status: number; body: T }> {
  const text = await res.text();
  return { status: res.status, body: (text === '' ? null : JSON.parse(text)) as T };
}

export async function adminJson<T = Record<string, unknown>>(h: Harness, path: string, init?: RequestInit) {
  return json<T>(await h.admin(path, init));
}

export async function profileIdOf(h: Harness, type: string, value: string): Promise<string | null> {
  const r = await adminJson<{ id: string }>(h, `/api/v1/profiles/lookup?type=${type}&value=${encodeURIComponent(value)}`);
  return r.status === 200 ? r.body.id : null;
}

/** Submit a privacy request and wait until it is finished (fails the test if it fails). */
export async function runRequest(h: Harness, type: string, subject: { type: string; value: string }): Promise<Record<string, unknown>> {
  const created = await adminJson<{ id: string; status: string }>(h, '/api/v1/privacy/requests', {
    method: 'POST',
    body: JSON.stringify({ type, subject }),
  });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  assert.equal(created.body.status, 'received');
  for (let i = 0; i < 3000; i++) {
    const r = await adminJson<{ status: string; error?: string }>(h, `/api/v1/privacy/requests/${created.body.id}`);
    if (r.body.status === 'finished') return r.body;
    assert.notEqual(r.body.status, 'failed', `the request failed: ${r.body.error}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the privacy request did not finish');
}

/** The value of one Prometheus counter sample (0 when absent). */
export async function metric(h: Harness, name: string, labels: string): Promise<number> {
  const text = await (await h.admin('/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}
