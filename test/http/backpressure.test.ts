/** When the processor falls behind, or the durable log is full, the edge sheds load with 503 + Retry-After (never a 4xx SDKs would drop). */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { basicAuth, startTessera } from '../support/harness.ts';
import { natsTestStream } from '../support/nats.ts';

it('answers 503 overloaded with Retry-After once the backlog passes its limit', async () => {
  // No processor: nothing drains, so the backlog only grows.
  const h = await startTessera({ TESSERA_PROCESSOR: 'off', TESSERA_MAX_BACKLOG_EVENTS: '100' });
  try {
    const send = (i: number) =>
      fetch(`${h.url}/v1/batch`, {
        method: 'POST',
        headers: { authorization: basicAuth(h.writeKey) },
        body: JSON.stringify({
          batch: Array.from({ length: 50 }, (_, j) => ({ type: 'track', event: 'E', userId: 'u', messageId: `bp-${i}-${j}` })),
        }),
      });
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 20 && !refused; i++) {
      // The backlog is measured at most every 50 ms; wait that long so each request sees the latest.
      await new Promise((r) => setTimeout(r, 60));
      const res = await send(i);
      statuses.push(res.status);
      if (res.status !== 200) refused = res;
    }
    assert.ok(refused, `never refused: ${statuses.join(',')}`);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '2');
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'overloaded');
    // Everything acknowledged before the refusal is in the log, waiting.
    assert.equal(h.tessera.log.backlog(0).messages, statuses.filter((s) => s === 200).length * 50);
  } finally {
    await h.close();
  }
});

it('with the log on NATS JetStream, a full stream answers 503 overloaded with Retry-After, and nothing refused is kept', async (t) => {
  const nats = await natsTestStream({ maxBytes: 1024 * 1024 });
  if (nats === null) return t.skip('NATS is not reachable');
  // No processor: nothing is purged, so the stream fills up to its cap of 1 MiB.
  const h = await startTessera({ ...nats.env, TESSERA_PROCESSOR: 'off' });
  try {
    const pad = 'x'.repeat(2000);
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 40 && !refused; i++) {
      const res = await fetch(`${h.url}/v1/batch`, {
        method: 'POST',
        headers: { authorization: basicAuth(h.writeKey) },
        body: JSON.stringify({
          batch: Array.from({ length: 50 }, (_, j) => ({
            type: 'track',
            event: 'E',
            userId: 'u',
            messageId: `nb-${i}-${j}`,
            properties: { pad },
          })),
        }),
      });
      statuses.push(res.status);
      if (res.status !== 200) refused = res;
      else await res.arrayBuffer();
    }
    assert.ok(refused, `never refused: ${statuses.join(',')}`);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '2');
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'overloaded');
    assert.equal((await nats.state()).messages, statuses.filter((s) => s === 200).length, 'the stream holds exactly the accepted requests');
  } finally {
    await h.close();
    await nats.drop();
  }
});
