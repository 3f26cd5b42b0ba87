/**
 * Erasure with the durable log on NATS JetStream (a server of the test's own, so its store directory can
 * be read byte by byte). JetStream keeps purged messages' bytes in its block files; Tessera seals every
 * body with a key kept in its store, so those files never hold a person's data in the clear, and after an
 * erasure the keys that sealed the subject's entries are deleted once the processor has passed them.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openLogKeys } from '../../src/storage/privacy/log-key-data.ts';
import type { Harness } from '../support/harness.ts';
import { withTesseraOnPrivateNats } from '../support/nats-server.ts';
import { profileIdOf, runRequest, send } from '../privacy/helpers.ts';

/** A metric without labels from `/metrics` (NaN when absent). */
async function metric(h: Harness, name: string): Promise<number> {
  const line = (await (await h.admin('/metrics')).text()).split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(' ').pop());
}

/** The files under `dir` whose bytes contain `text`. */
function filesHolding(dir: string, text: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath ?? entry.path, entry.name);
    if (fs.readFileSync(file).includes(Buffer.from(text, 'utf8'))) out.push(file);
  }
  return out;
}

describe('erasure with the log on NATS JetStream', () => {
  it("keeps the subject's data sealed on JetStream's disk, and shreds the keys that sealed it", async (t) => {
    await withTesseraOnPrivateNats(t, 'ERASURE', async (h, nats) => {
      const email = 'sealed.ann@example.net';
      await send(h, [
        { type: 'identify', userId: 'sealed-ann', traits: { email, phone: '+14155550123' } },
        { type: 'track', userId: 'sealed-ann', event: 'Viewed', properties: { contact: email } },
        { type: 'identify', userId: 'sealed-bob', traits: { email: 'sealed.bob@example.net' } },
      ]);
      for (let i = 0; i < 400 && (await profileIdOf(h, 'email', email)) === null; i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(await profileIdOf(h, 'email', email), 'processed');

      // The scan reads JetStream's files: it finds the stream's subject and the headers, never the body's text.
      assert.ok(filesHolding(nats.storeDir, 'tessera.log.ERASURE').length > 0, 'the scan sees the stream files');
      assert.ok(filesHolding(nats.storeDir, 'Tessera-Key').length > 0, 'the scan sees the messages');
      assert.deepEqual(filesHolding(nats.storeDir, email), [], 'no body in the clear');
      assert.deepEqual(filesHolding(nats.storeDir, 'sealed-ann'), []);

      const keys = await openLogKeys(h.tessera.store);
      const logId = h.tessera.log.logId;
      const before = (await keys.list(logId)).keys.map((k) => k.keyId);
      assert.ok(before.length > 0, 'the edge sealed with a key from the store');

      await runRequest(h, 'suppress_with_delete', { type: 'email', value: email });
      // Every key in use before the erasure goes, once the processor has passed its entries (it already has).
      let left = before;
      for (let i = 0; i < 600 && left.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 25));
        const now = new Set((await keys.list(logId)).keys.map((k) => k.keyId));
        left = before.filter((id) => now.has(id));
      }
      assert.deepEqual(left, [], 'the keys that sealed the subject entries are shredded');
      // Operators see it: keys shredded, and how old the oldest key still held is.
      const shredded = await metric(h, 'tessera_log_keys_shredded_total');
      assert.ok(shredded >= before.length, `tessera_log_keys_shredded_total ${shredded}`);
      const oldest = await metric(h, 'tessera_log_keys_oldest_age_seconds');
      assert.ok(oldest >= 0 && oldest < 60, `tessera_log_keys_oldest_age_seconds ${oldest}`);

      // Ingestion goes on, under a new key.
      await send(h, [{ type: 'identify', userId: 'sealed-cy', traits: { email: 'sealed.cy@example.net' } }]);
      for (let i = 0; i < 400 && (await profileIdOf(h, 'email', 'sealed.cy@example.net')) === null; i++)
        await new Promise((r) => setTimeout(r, 25));
      assert.ok(await profileIdOf(h, 'email', 'sealed.cy@example.net'), 'stored after the erasure');
    });
  });
});
