/**
 * Issue 3's memory bound, as a bench section (`--only=memory`, not part of the full run: 10M events take
 * about a quarter of an hour here): a fresh `tessera serve` with its default settings, and `tessera demo
 * --url` in its own process sending the demo business over HTTP (it waits and retries while the edge
 * answers 503 at its backlog limit) until every event is stored. The figure is the server's peak resident
 * memory (VmHWM) over the whole run, beside the issue's 1 GB.
 */
import { spawn } from 'node:child_process';
import { ROOT } from './processes.ts';
import { startServer } from './server.ts';

export interface MemoryFigures {
  events: number;
  profiles: number;
  merges: number;
  /** From the first send until the generator had sent everything, and until the processor had stored it, s. */
  sentSeconds: number;
  storedSeconds: number;
  peakRssMb: number;
}

/** `tessera demo` over HTTP, in its own process; resolves when it has sent everything. */
function sendDemo(url: string, writeKey: string, events: number): Promise<void> {
  const args = ['bin/tessera.js', 'demo', '--events', String(events), '--days', '90', '--url', url, '--write-key', writeKey];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  child.stderr.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tessera demo exited with ${code}: ${out}`))));
  });
}

export async function memoryRun(opts: { events: number; databaseUrl?: string }): Promise<MemoryFigures> {
  const server = await startServer({ databaseUrl: opts.databaseUrl });
  try {
    const writeKey = await server.createSource('bench-memory');
    const started = Date.now();
    await sendDemo(server.url, writeKey, opts.events);
    const sent = Date.now();
    // A long backlog drains for minutes; it only has to keep shrinking.
    const stored = await server.drained(120_000);
    const m = await server.metrics();
    return {
      events: m.tessera_processor_events_stored_total ?? 0,
      profiles: m.tessera_identity_profiles_created_total ?? 0,
      merges: m.tessera_identity_merges_total ?? 0,
      sentSeconds: (sent - started) / 1000,
      storedSeconds: (stored - started) / 1000,
      peakRssMb: server.peakRssMb(),
    };
  } finally {
    await server.stop();
  }
}
