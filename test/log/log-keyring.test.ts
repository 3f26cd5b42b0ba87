/**
 * Crypto-shredding of the NATS log's entries, without NATS: how sealed bodies open, and the life of a key
 * (made by an edge, retired, sealed at the stream's last entry, deleted once the purge passes it) on both
 * real stores, where the keys live. The stream itself is in `nats-log.test.ts`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { newSecret, openBody, sealBody } from '../../src/log/nats/log-cipher.ts';
import { LogKeyring, SLACK_MS } from '../../src/log/nats/log-keyring.ts';
import { openStore } from '../../src/storage/open-store.ts';
import { migrateAll } from '../../src/storage/migrate-all.ts';
import { openLogKeys, type LogKeyData } from '../../src/storage/privacy/log-key-data.ts';
import { openPrivacyStore } from '../../src/storage/privacy/open-privacy-store.ts';
import type { Store } from '../../src/storage/store.ts';
import { postgresTestUrl } from '../support/postgres.ts';

describe('log cipher', () => {
  it('opens what it sealed, and nothing altered or sealed under another key', () => {
    const secret = newSecret();
    const body = JSON.stringify({ batch: [{ type: 'identify', traits: { email: 'ada@example.com', name: 'Grüße ✓' } }] });
    const sealed = sealBody(body, secret);
    assert.equal(openBody(sealed, secret), body);
    assert.ok(!sealed.toString('latin1').includes('ada@example.com'), 'the sealed payload does not hold the text');
    assert.notDeepEqual(sealBody(body, secret), sealed, 'a fresh nonce each time');
    const altered = Buffer.from(sealed);
    altered[20] = altered[20]! ^ 1;
    assert.equal(openBody(altered, secret), null, 'one flipped bit fails the tag');
    assert.equal(openBody(sealed, newSecret()), null, 'another key');
    assert.equal(openBody(sealed.subarray(0, 10), secret), null, 'truncated');
  });
});

const stores: Array<{ name: string; open(): Promise<{ store: Store; drop(): Promise<void> } | null> }> = [
  {
    name: 'SQLite',
    open: async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-keys-'));
      const store = await openStore({ kind: 'sqlite', file: path.join(dir, 'store.sqlite') });
      return { store, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      const pg = await postgresTestUrl();
      return pg && { store: await openStore({ kind: 'postgres', url: pg.url }), drop: pg.drop };
    },
  },
];

/** Move every key of `logId` back in time by `ms` on the database's clock (as if it had been made that long ago). */
async function age(store: Store, logId: string, ms: number): Promise<void> {
  const { runner } = await openPrivacyStore(store);
  await runner.run('UPDATE privacy_log_keys SET created_at = created_at - $1 WHERE log_id = $2', [ms, logId]);
}

for (const backend of stores) {
  describe(`log keys on ${backend.name}`, () => {
    const withKeys = async (t: { skip(msg: string): void }, fn: (keys: LogKeyData, store: Store) => Promise<void>) => {
      const opened = await backend.open();
      if (opened === null) return t.skip('PostgreSQL not reachable');
      try {
        await migrateAll(opened.store);
        await fn(await openLogKeys(opened.store), opened.store);
      } finally {
        await opened.store.close();
        await opened.drop();
      }
    };

    it('keeps a key until it is retired, sealed at the stream and passed by the purge', async (t) => {
      await withKeys(t, async (keys) => {
        const logId = 'nats:S:2026-12-01T00:00:00Z';
        const errors: unknown[] = [];
        const edge = new LogKeyring(keys, logId, 60_000, (err) => errors.push(err));
        const shredder = new LogKeyring(keys, logId, 60_000, (err) => errors.push(err));
        const reader = new LogKeyring(keys, logId, 60_000, (err) => errors.push(err));

        const first = await edge.acquire();
        assert.equal((await edge.acquire()).id, first.id, 'one key until it rotates');
        assert.deepEqual(await reader.secretOf(first.id), first.secret, 'a reader fetches it by id from the store');
        edge.settled(first);
        edge.settled(first);

        // Not retired, not old: the shredder leaves it alone whatever has been purged.
        let lastSeqAsked = 0;
        const lastSeq = async () => {
          lastSeqAsked++;
          return 40;
        };
        assert.equal(await shredder.shred(1_000, lastSeq), 0);
        assert.equal(lastSeqAsked, 0, 'the stream is asked only when a key is to be sealed');

        // An erasure rotates: the idle key is retired; a new append takes a new key.
        edge.rotate();
        const second = await edge.acquire();
        assert.notEqual(second.id, first.id);
        await eventuallyRetired(keys, logId, first.id);

        assert.equal(await shredder.shred(30, lastSeq), 0, 'sealed at the stream last entry (40), not deleted yet');
        assert.equal(lastSeqAsked, 1);
        let listed = (await keys.list(logId)).keys;
        assert.equal(listed.find((k) => k.keyId === first.id)?.sealedSeq, 40);
        assert.equal(await shredder.shred(39, lastSeq), 0, 'the purge has not passed entry 40');
        assert.equal(await shredder.shred(40, lastSeq), 1, 'it has now');
        assert.equal(await keys.secret(logId, first.id), null, 'gone from the store');
        assert.ok((await keys.secret(logId, second.id)) !== null, 'the key in use stays');

        // An append in flight holds its key past a rotation: it is retired only when the append settles.
        edge.rotate();
        listed = (await keys.list(logId)).keys;
        assert.equal(listed.find((k) => k.keyId === second.id)?.retired, false, 'still in flight');
        edge.settled(second);
        await eventuallyRetired(keys, logId, second.id);
        assert.deepEqual(errors, []);
      });
    });

    it('seals a key its edge never retired (an edge that stopped) only once its slack has passed', async (t) => {
      await withKeys(t, async (keys, store) => {
        const logId = 'nats:S:2026-12-01T00:00:01Z';
        const crashed = new LogKeyring(keys, logId, 60_000, () => {});
        const key = await crashed.acquire(); // never settled, never retired: the edge died
        const shredder = new LogKeyring(keys, logId, 60_000, () => {});
        await age(store, logId, 60_000 + SLACK_MS - 5_000);
        assert.equal(await shredder.shred(100, async () => 7), 0);
        assert.equal((await keys.list(logId)).keys[0]?.sealedSeq, null, 'within its rotation and slack: it may still be in use');
        await age(store, logId, 10_000);
        await shredder.shred(100, async () => 7);
        assert.equal((await keys.list(logId)).keys[0]?.sealedSeq, 7);
        assert.equal(await shredder.shred(100, async () => 9), 1);
        assert.equal(await keys.secret(logId, key.id), null);
      });
    });

    it('deletes the keys of an earlier stream of the same name, and no other stream', async (t) => {
      await withKeys(t, async (keys) => {
        await keys.create('nats:S:old', 'k1', newSecret().toString('base64'));
        await keys.create('nats:S2:x', 'k2', newSecret().toString('base64'));
        await keys.create('nats:S:new', 'k3', newSecret().toString('base64'));
        await new LogKeyring(keys, 'nats:S:new', 60_000, () => {}).shred(0, async () => 0);
        assert.equal(await keys.secret('nats:S:old', 'k1'), null);
        assert.ok((await keys.secret('nats:S2:x', 'k2')) !== null);
        assert.ok((await keys.secret('nats:S:new', 'k3')) !== null);
      });
    });
  });
}

async function eventuallyRetired(keys: LogKeyData, logId: string, keyId: string): Promise<void> {
  for (let i = 0; ; i++) {
    const k = (await keys.list(logId)).keys.find((x) => x.keyId === keyId);
    if (k?.retired) return;
    assert.ok(i < 200, `key ${keyId} retired`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
