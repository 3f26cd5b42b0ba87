/**
 * A nats-server of a test's own (JetStream on, a free port, its store in a temporary directory), for what
 * the shared server must not go through: TLS, being stopped and started again. Outside CI a missing
 * binary skips the tests, loudly; in CI it is a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startTessera, tempDir, type Harness } from './harness.ts';

const NATS_SERVER = process.env.TESSERA_TEST_NATS_SERVER ?? '/usr/sbin/nats-server';

/** Why a private server cannot run here ('' when it can); throws in CI. */
export function privateNatsUnavailable(): string {
  if (fs.existsSync(NATS_SERVER)) return '';
  const why = `${NATS_SERVER} is not installed`;
  if (process.env.CI === 'true') throw new Error(`${why}; CI must provide it (set TESSERA_TEST_NATS_SERVER)`);
  console.warn(`\n*** SKIPPING tests with a NATS server of their own: ${why}. ***\n`);
  return why;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface PrivateNats {
  port: number;
  /** Its JetStream store directory (`-sd`): the bytes it keeps on disk. */
  storeDir: string;
  /** Start it (again, on the same port and store). */
  start(): Promise<void>;
  /** Stop it: SIGKILL, as a crash, or SIGTERM. */
  stop(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
}

export async function privateNats(extraArgs: string[] = []): Promise<PrivateNats> {
  const dir = tempDir('tessera-nats-');
  const port = await freePort();
  let child: ChildProcess | null = null;
  let output = '';
  const listening = async () => {
    for (let i = 0; i < 400; i++) {
      if (child?.exitCode !== null) throw new Error(`nats-server exited: ${output}`);
      const open = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (open) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`nats-server did not listen: ${output}`);
  };
  const server: PrivateNats = {
    port,
    storeDir: path.join(dir, 'js'),
    async start() {
      output = '';
      child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', server.storeDir, ...extraArgs], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      await listening();
    },
    async stop(signal = 'SIGTERM') {
      const c = child;
      child = null;
      if (c === null || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill(signal);
      await exited;
    },
  };
  return server;
}

/**
 * Run `fn` against a Tessera whose durable log is a stream on a NATS server of the test's own; both are
 * stopped afterwards. Skips (loudly, outside CI) where no nats-server binary is installed.
 */
export async function withTesseraOnPrivateNats(
  t: { skip(message: string): void },
  stream: string,
  fn: (h: Harness, nats: PrivateNats) => Promise<void>,
): Promise<void> {
  const unavailable = privateNatsUnavailable();
  if (unavailable) return t.skip(unavailable);
  const nats = await privateNats();
  await nats.start();
  let h: Harness | undefined;
  try {
    h = await startTessera({ TESSERA_LOG_URL: `nats://127.0.0.1:${nats.port}`, TESSERA_NATS_STREAM: stream });
    await fn(h, nats);
  } finally {
    await h?.close();
    await nats.stop();
  }
}
