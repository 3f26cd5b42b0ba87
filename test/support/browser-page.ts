/**
 * A tiny web page for browser end-to-end tests: `@segment/analytics-next` bundled with esbuild at test time
 * into a temporary directory, served by its own node:http server (so its origin differs from Tessera's).
 *
 * The page exposes `globalThis.tesseraE2E.run(scenario)`, which loads AnalyticsBrowser with the given
 * settings/options, makes the calls listed, and returns what the SDK reports for each.
 */
import esbuild from 'esbuild';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A call as `[method, ...args]`, e.g. `['track', 'Clicked', { color: 'red' }]`. */
export type PageCall = [method: 'identify' | 'track' | 'page' | 'screen' | 'group' | 'alias', ...args: unknown[]];

export interface PageScenario {
  settings: Record<string, unknown>;
  options?: Record<string, unknown>;
  calls: PageCall[];
}

export interface PageResult {
  anonymousId: string | null;
  userId: string | null;
  calls: { type: string; messageId: string; failed: string | null }[];
  errors: string[];
}

// Plain browser JavaScript (no type checking here: the project's lib has no DOM).
const ENTRY = `
import { AnalyticsBrowser } from '@segment/analytics-next';

async function run(scenario) {
  const errors = [];
  const [analytics] = await AnalyticsBrowser.load(scenario.settings, scenario.options || {});
  analytics.on('error', (e) => errors.push(String((e && e.reason && e.reason.message) || (e && e.code) || e)));
  const calls = [];
  for (const [method, ...args] of scenario.calls) {
    const ctx = await analytics[method](...args);
    const failed = ctx.failedDelivery();
    calls.push({ type: ctx.event.type, messageId: ctx.event.messageId, failed: failed ? String(failed.reason) : null });
  }
  return { anonymousId: analytics.user().anonymousId(), userId: analytics.user().id(), calls, errors };
}

globalThis.tesseraE2E = { run };
globalThis.tesseraE2EReady = true;
`;

export interface PageServer {
  /** e.g. `http://127.0.0.1:41234` */
  origin: string;
  dir: string;
  close(): Promise<void>;
}

/** Bundle the page script into `dir` (a temporary directory) and serve it on 127.0.0.1. */
export async function startPageServer(dir: string): Promise<PageServer> {
  await esbuild.build({
    stdin: { contents: ENTRY, resolveDir: projectRoot, sourcefile: 'tessera-e2e-page.js', loader: 'js' },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome110',
    outfile: path.join(dir, 'bundle.js'),
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  fs.writeFileSync(
    path.join(dir, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"><title>Tessera e2e page</title></head><body><h1>Tessera e2e</h1><script src="/bundle.js"></script></body></html>',
  );
  const files: Record<string, { file: string; type: string }> = {
    '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
    '/bundle.js': { file: 'bundle.js', type: 'text/javascript; charset=utf-8' },
  };
  const server = http.createServer((req, res) => {
    const entry = files[(req.url ?? '/').split('?')[0] ?? '/'];
    if (req.method !== 'GET' || !entry) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': entry.type, 'cache-control': 'no-store' }).end(fs.readFileSync(path.join(dir, entry.file)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    dir,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
