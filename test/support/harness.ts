/**
 * Start a real Tessera (HTTP on a random loopback port, its own temporary data directory) for a test,
 * with a source and an admin token ready. Each test owns its instance and its data.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createTessera, type Tessera } from '../../src/app.ts';
import { parseConfig } from '../../src/config/config.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface Harness {
  tessera: Tessera;
  url: string;
  writeKey: string;
  sourceId: string;
  dataDir: string;
  /** fetch against the admin API with the admin token. */
  admin(pathname: string, init?: RequestInit): Promise<Response>;
  /** Wait until the processor has consumed everything appended so far. */
  drained(): Promise<void>;
  close(): Promise<void>;
}

const madeDirs: string[] = [];

/** A fresh temporary directory, removed when the test process exits (each test file runs in its own). */
export function tempDir(prefix = 'tessera-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (madeDirs.length === 0)
    process.once('exit', () => {
      for (const d of madeDirs) fs.rmSync(d, { recursive: true, force: true });
    });
  madeDirs.push(dir);
  return dir;
}

export async function startTessera(env: Record<string, string> = {}, dataDir = tempDir()): Promise<Harness> {
  const config = parseConfig({
    TESSERA_DATA_DIR: dataDir,
    PORT: '0',
    TESSERA_ADMIN_TOKEN: ADMIN_TOKEN,
    TESSERA_LOG_LEVEL: 'silent',
    ...env,
  });
  const tessera = await createTessera(config, { logger: pino({ level: 'silent' }), defaultMetrics: false });
  const url = await tessera.listen();
  const admin = (pathname: string, init: RequestInit = {}) =>
    fetch(url + pathname, {
      ...init,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(init.body ? { 'content-type': 'application/json' } : {}),
        ...(init.headers ?? {}),
      },
    });
  const existing = await tessera.sources.list();
  const source = existing[0] ?? (await tessera.sources.create('test source'));
  return {
    tessera,
    url,
    writeKey: source.writeKey,
    sourceId: source.id,
    dataDir,
    admin,
    async drained() {
      for (;;) {
        // The processor's report (metrics included) has arrived for everything appended so far.
        if (tessera.log.headSeq() <= (tessera.processor?.processedSeq ?? 0)) return;
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () => tessera.close(),
  };
}

export const basicAuth = (writeKey: string) => `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
