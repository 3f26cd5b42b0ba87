/** The NATS JetStream the bench puts a server's durable log on: a fresh stream per server, deleted when it stops. */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { randomBytes } from 'node:crypto';

const url = () => process.env.TESSERA_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

async function withManager<T>(work: (jsm: Awaited<ReturnType<typeof jetstreamManager>>) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: url().slice('nats://'.length).split(','), timeout: 3000 });
  try {
    return await work(await jetstreamManager(nc));
  } finally {
    await nc.close();
  }
}

/** Whether NATS with JetStream answers. */
export async function natsReachable(): Promise<boolean> {
  return withManager(async (jsm) => void (await jsm.getAccountInfo())).then(
    () => true,
    () => false,
  );
}

/** The environment of a server whose log is a new stream (the server creates it on start). */
export function natsLogEnv(): Record<string, string> {
  return { TESSERA_LOG_URL: url(), TESSERA_NATS_STREAM: `BENCH_${randomBytes(6).toString('hex')}` };
}

/** Delete a stream made for `natsLogEnv` (best effort). */
export async function dropBenchStream(stream: string): Promise<void> {
  await withManager((jsm) => jsm.streams.delete(stream)).catch(() => undefined);
}
