/**
 * Ingestion end to end: a real `tessera serve` process (fresh data), a separate load generator, then
 * wait until the processor has stored everything that was accepted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { peakRssMb, runLoad, startProcess, stopProcess } from './processes.ts';

export interface IngestFigures {
  acceptedPerSec: number;
  sustainedPerSec: number;
  p50: number;
  p99: number;
  peakRssMb: number;
  backpressured: number;
}

const TOKEN = 'bench-admin-token-0123456789';

async function storedTotal(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  return Number(/^tessera_processor_events_stored_total (\d+)/m.exec(text)?.[1] ?? 0);
}

export async function ingestScenario(opts: { seconds: number; connections: number; databaseUrl?: string }): Promise<IngestFigures> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-'));
  const env: Record<string, string> = { TESSERA_DATA_DIR: dataDir, PORT: '0', TESSERA_ADMIN_TOKEN: TOKEN, TESSERA_LOG_LEVEL: 'info' };
  if (opts.databaseUrl) env.TESSERA_DATABASE_URL = opts.databaseUrl;
  const { child, match } = await startProcess(['bin/tessera.js', 'serve'], env, /"address":"(http:\/\/[^"]+)"/);
  const url = match[1]!;
  try {
    const res = await fetch(`${url}/api/v1/sources`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench' }),
    });
    const { writeKey } = (await res.json()) as { writeKey: string };
    const t0 = performance.now();
    const load = await runLoad(url, writeKey, opts.seconds, opts.connections);
    // Sustained rate: everything accepted, stored, over the whole time it took (bounded wait).
    let stored = await storedTotal(url);
    const waitUntil = performance.now() + 300_000;
    while (stored < load.accepted && performance.now() < waitUntil) {
      await new Promise((r) => setTimeout(r, 200));
      stored = await storedTotal(url);
    }
    const sustainedPerSec = stored / ((performance.now() - t0) / 1000);
    return {
      acceptedPerSec: load.acceptedPerSec,
      sustainedPerSec,
      p50: load.p50,
      p99: load.p99,
      peakRssMb: peakRssMb(child.pid!),
      backpressured: (load.statuses['429'] ?? 0) + (load.statuses['503'] ?? 0),
    };
  } finally {
    await stopProcess(child);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
