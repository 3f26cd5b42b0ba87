/** A real `tessera serve` on fresh data (a temporary directory; on PostgreSQL, a fresh schema), as the bench starts it. */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { peakRssMb, startProcess, stopProcess } from './processes.ts';
import { dropBenchStream, natsLogEnv } from './nats-log.ts';
import { dropBenchSchema } from './postgres-url.ts';

export const ADMIN_TOKEN = 'bench-admin-token-0123456789';

export interface BenchServer {
  url: string;
  child: ChildProcess;
  /** Peak resident memory of the server process so far (VmHWM), MB. */
  peakRssMb(): number;
  /** Create a source; its write key. */
  createSource(name: string): Promise<string>;
  /**
   * The server's Prometheus metrics: unlabelled samples by name, labelled ones summed by name and each
   * also under its name with its labels as printed (`name{phase="read"}`).
   */
  metrics(): Promise<Record<string, number>>;
  /** The server's last logged error (level error or fatal), shortened; '' if none. */
  lastError(): string;
  /**
   * Poll until the processor has consumed everything in the log; the wall-clock ms when it happened.
   * Throws, with the server's last logged error, when the backlog stops shrinking for `stallMs`.
   */
  drained(stallMs?: number): Promise<number>;
  stop(): Promise<void>;
}

/** The message of a pino error line, else the line itself. */
function errorOf(line: string): string {
  if (line === '') return 'no error logged';
  try {
    const entry = JSON.parse(line) as { err?: { message?: string }; msg?: string };
    return entry.err?.message ?? entry.msg ?? line;
  } catch {
    return line;
  }
}

export async function startServer(
  opts: {
    databaseUrl?: string;
    extraArgs?: string[];
    env?: Record<string, string>;
    natsLog?: boolean;
    /** Another node on the same database: stopping this one leaves the schema to the node that made it. */
    sharedDatabase?: boolean;
  } = {},
): Promise<BenchServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-'));
  const env: Record<string, string> = {
    TESSERA_DATA_DIR: dataDir,
    PORT: '0',
    TESSERA_ADMIN_TOKEN: ADMIN_TOKEN,
    TESSERA_LOG_LEVEL: 'info',
    // With `natsLog`, the durable log is a fresh NATS JetStream stream instead of the embedded file.
    ...(opts.natsLog ? natsLogEnv() : {}),
    ...opts.env,
  };
  if (opts.databaseUrl) env.TESSERA_DATABASE_URL = opts.databaseUrl;
  // BENCH_SERVER_NODE_ARGS (space-separated) reaches every server the bench starts: `--cpu-prof` and the like, by hand.
  const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const { child, match } = await startProcess(
    [...nodeArgs, ...(opts.extraArgs ?? []), 'bin/tessera.js', 'serve'],
    env,
    /"address":"(http:\/\/[^"]+)"/,
  );
  const url = match[1]!;
  // Keep the server's last error line: when the processor is stuck, it says why.
  let lastError = '';
  const onOutput = (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (/"level":(50|60)/.test(line)) lastError = line.slice(0, 2000);
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const metrics = async () => {
    const text = await (await fetch(`${url}/metrics`, { headers: auth })).text();
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^([a-zA-Z0-9_:]+)(\{[^}]*\})? ([0-9.eE+-]+)$/gm)) {
      out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[3]);
      if (m[2] !== undefined) out[m[1]! + m[2]] = Number(m[3]);
    }
    return out;
  };
  return {
    url,
    child,
    peakRssMb: () => peakRssMb(child.pid!),
    async createSource(name) {
      const res = await fetch(`${url}/api/v1/sources`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ name }),
      });
      return ((await res.json()) as { writeKey: string }).writeKey;
    },
    metrics,
    lastError: () => (lastError === '' ? '' : errorOf(lastError)),
    async drained(stallMs = 30_000) {
      let best = Infinity;
      let progressAt = Date.now();
      // The pipeline status, not /metrics: a scrape also reads every thread's /proc files and V8's heap
      // statistics, several milliseconds of the server's main thread, ten times a second.
      const backlogNow = async () => {
        const res = await fetch(`${url}/api/v1/pipeline`, { headers: auth });
        return ((await res.json()) as { ingest: { items: number } }).ingest.items;
      };
      for (;;) {
        const backlog = await backlogNow();
        if (backlog === 0) return Date.now();
        if (backlog < best) {
          best = backlog;
          progressAt = Date.now();
        } else if (Date.now() - progressAt > stallMs) {
          throw new Error(`the processor made no progress for ${stallMs / 1000} s (${backlog} messages left): ${errorOf(lastError)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await stopProcess(child);
      fs.rmSync(dataDir, { recursive: true, force: true });
      if (opts.databaseUrl && !opts.sharedDatabase) await dropBenchSchema(opts.databaseUrl);
      if (env.TESSERA_NATS_STREAM) await dropBenchStream(env.TESSERA_NATS_STREAM);
    },
  };
}
