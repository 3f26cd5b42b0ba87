/**
 * NATS goes away while Tessera runs (a server of the test's own, killed with SIGKILL and started again
 * on the same store): while it is away, ingestion answers 503 with Retry-After and accepts nothing; once
 * it is back, Tessera reconnects by itself and every request that got a 200, before or after, is stored
 * exactly once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { basicAuth } from '../support/harness.ts';
import { withTesseraOnPrivateNats } from '../support/nats-server.ts';

describe('the NATS log through an outage of NATS', () => {
  it('refuses with 503 while NATS is away, and loses nothing it acknowledged', async (t) => {
    await withTesseraOnPrivateNats(t, 'OUTAGE', async (harness, nats) => {
      const acknowledged = new Set<string>();
      const send = async (b: number): Promise<Response> => {
        const batch = Array.from({ length: 10 }, (_, i) => ({ type: 'track', event: 'Tick', userId: `u${i}`, messageId: `o-${b}-${i}` }));
        const res = await fetch(`${harness.url}/v1/batch`, {
          method: 'POST',
          headers: { authorization: basicAuth(harness.writeKey), 'content-type': 'application/json' },
          body: JSON.stringify({ batch }),
        });
        if (res.status === 200) for (const m of batch) acknowledged.add(m.messageId);
        return res;
      };
      for (let b = 0; b < 10; b++) assert.equal((await send(b)).status, 200);

      assert.equal((await fetch(`${harness.url}/readyz`)).status, 200, 'ready while NATS is up');
      await nats.stop('SIGKILL');
      const refused = await send(10);
      assert.equal(refused.status, 503);
      assert.ok(refused.headers.get('retry-after'), 'Retry-After, so SDKs try again');
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'log_unavailable');
      // Not ready meanwhile: a load balancer sends the traffic to edges that can take it.
      const readiness = await fetch(`${harness.url}/readyz`);
      assert.equal(readiness.status, 503);
      assert.match(((await readiness.json()) as { reason: string }).reason, /NATS JetStream\) is not reachable/);

      await nats.start();
      // Tessera reconnects by itself: requests are accepted again within a few seconds.
      let b = 11;
      for (let i = 0; i < 200; i++, b++) {
        const res = await send(b);
        await res.arrayBuffer();
        if (res.status === 200) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      for (let k = 0; k < 10; k++) assert.equal((await send(++b)).status, 200);
      assert.equal((await fetch(`${harness.url}/readyz`)).status, 200, 'ready again');

      let stored: string[] = [];
      for (let i = 0; i < 1200; i++) {
        const page = (await (await harness.admin('/api/v1/events?limit=500&name=Tick')).json()) as { items: Array<{ messageId: string }> };
        stored = page.items.map((e) => e.messageId);
        if ([...acknowledged].every((id) => stored.includes(id))) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const missing = [...acknowledged].filter((id) => !stored.includes(id));
      assert.deepEqual(missing, [], 'every acknowledged message is stored');
      assert.equal(new Set(stored).size, stored.length, 'none twice');
      assert.equal(stored.length, acknowledged.size, 'nothing that was refused');
    });
  });
});
