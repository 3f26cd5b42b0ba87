/**
 * "A 200 means durable": kill -9 the server while a client streams batches; after a restart every
 * message that got a 200 is stored exactly once. With the embedded log, and with the log on NATS JetStream.
 */
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ADMIN_TOKEN, basicAuth, tempDir } from '../support/harness.ts';
import { natsTestStream, type NatsTestStream } from '../support/nats.ts';

const BIN = path.resolve('bin/tessera.js');

function startServer(dataDir: string, port: number, env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port)], {
    env: { ...process.env, TESSERA_DATA_DIR: dataDir, TESSERA_ADMIN_TOKEN: ADMIN_TOKEN, TESSERA_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"address":"(http:\/\/[^"]+)"/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)));
  });
}

const exited = (child: ChildProcess) =>
  new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));

async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('durability', () => {
  it('every message acknowledged with 200 survives kill -9, exactly once', () => killAndRestart({}));

  it('every message acknowledged with 200 survives kill -9, exactly once, with the log on NATS JetStream', async (t) => {
    const nats: NatsTestStream | null = await natsTestStream();
    if (nats === null) return t.skip('NATS is not reachable');
    try {
      await killAndRestart(nats.env);
      // The graceful stop purged what it processed: the stream holds nothing left to do.
      assert.equal((await nats.state()).messages, 0);
    } finally {
      await nats.drop();
    }
  });
});

async function killAndRestart(env: Record<string, string>): Promise<void> {
  const dataDir = tempDir();
  const port = await freePort();
  let server = await startServer(dataDir, port, env);
  const created = await fetch(`${server.url}/api/v1/sources`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'durability' }),
  });
  const { writeKey } = (await created.json()) as { writeKey: string };

  const acked: string[] = [];
  let stop = false;
  let sent = 0;
  // Four concurrent streams of 50-message batches, as several SDK instances would send.
  const stream = async (lane: number) => {
    for (let b = 0; !stop; b++) {
      const batch = Array.from({ length: 50 }, (_, i) => ({
        type: 'track',
        event: 'Durable',
        userId: `u${i}`,
        messageId: `d-${lane}-${b}-${i}`,
      }));
      sent++;
      try {
        const res = await fetch(`${server.url}/v1/batch`, {
          method: 'POST',
          headers: { authorization: basicAuth(writeKey), 'content-type': 'application/json' },
          body: JSON.stringify({ batch }),
        });
        if (res.status === 200) acked.push(...batch.map((m) => m.messageId));
        await res.arrayBuffer();
      } catch {
        return; // the server died under us: this batch was never acknowledged
      }
    }
  };
  const lanes = [0, 1, 2, 3].map(stream);
  // Let the clients get going, then kill without warning.
  while (acked.length < 20_000) await new Promise((r) => setTimeout(r, 5));
  server.child.kill('SIGKILL');
  await exited(server.child);
  stop = true;
  await Promise.all(lanes);
  assert.ok(acked.length >= 20_000, `acknowledged ${acked.length} of ${sent * 50} sent`);

  // Restart on the same data; a graceful stop drains the log into the store.
  server = await startServer(dataDir, port, env);
  server.child.kill('SIGTERM');
  await exited(server.child);

  const db = new Database(path.join(dataDir, 'tessera.sqlite'), { readonly: true });
  const counts = new Map(
    (
      db.prepare(`SELECT message_id AS id, count(*) AS n FROM events WHERE name = 'Durable' GROUP BY message_id`).all() as Array<{
        id: string;
        n: number;
      }>
    ).map((r) => [r.id, r.n]),
  );
  db.close();
  const missing = acked.filter((id) => !counts.has(id));
  const doubled = [...counts].filter(([, n]) => n > 1);
  assert.deepEqual(missing.slice(0, 5), [], `${missing.length} acknowledged messages lost`);
  assert.deepEqual(doubled.slice(0, 5), [], 'messages stored more than once');
}
