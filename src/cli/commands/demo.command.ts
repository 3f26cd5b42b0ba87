/**
 * `tessera demo`: generate a realistic synthetic e-commerce business and feed it to Tessera —
 * over the HTTP API as SDK traffic would arrive (`--url`), as import files (`--files`), or directly
 * through the durable log and the processor (the default, no server needed).
 */
import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import type { DemoBatch } from '../../demo/batches.ts';
import { SourceService } from '../../sources/source-service.ts';
import type { Config } from '../../config/config.ts';
import { SegmentService } from '../../segments/segment-service.ts';
import { openSegmentStore } from '../../storage/segments/open-segment-store.ts';
import { configFrom, withStore } from '../context.ts';
import { loadDirect } from '../direct-load.ts';

interface DemoOpts {
  events: string;
  seed: string;
  days: string;
  url?: string;
  writeKey?: string;
  files?: string;
  batchSize: string;
  segments?: boolean;
}

// The generator is loaded only when `demo` runs, so `serve` never loads (or depends on) it.
async function batchesOf(opts: DemoOpts): Promise<Iterable<DemoBatch>> {
  const { toBatches } = await import('../../demo/batches.ts');
  const { generateDemo } = await import('../../demo/generator.ts');
  const events = Number(opts.events);
  const days = Number(opts.days);
  if (!Number.isInteger(events) || events < 1) throw new Error('--events must be a positive whole number');
  const start = new Date(Date.now() - days * 86_400_000);
  return toBatches(generateDemo({ seed: Number(opts.seed), events, start, days }), Number(opts.batchSize));
}

async function sendOverHttp(url: string, writeKey: string, batches: Iterable<DemoBatch>): Promise<number> {
  const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
  const iterator = batches[Symbol.iterator]();
  let sent = 0;
  const lane = async () => {
    for (let next = iterator.next(); !next.done; next = iterator.next()) {
      const body = JSON.stringify(next.value);
      for (let attempt = 0; ; attempt++) {
        const res = await fetch(new URL('/v1/batch', url), {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/json' },
          body,
        });
        await res.arrayBuffer();
        if (res.status === 200) break;
        if ((res.status === 429 || res.status >= 500) && attempt < 20) {
          await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000));
          continue;
        }
        throw new Error(`the server answered ${res.status} to a demo batch`);
      }
      sent += next.value.batch.length;
    }
  };
  await Promise.all([lane(), lane(), lane(), lane()]);
  return sent;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('generate a realistic demo business (deterministic for a seed) and load it')
    .option('-e, --events <n>', 'how many events', '10000')
    .option('-s, --seed <n>', 'random seed (same seed, same data)', '1')
    .option('-d, --days <n>', 'days of history, ending now', '30')
    .option('--batch-size <n>', 'messages per batch request', '100')
    .option('--url <url>', 'send over HTTP to a running Tessera (needs --write-key)')
    .option('--write-key <key>', 'write key of the source to send to')
    .option('--files <dir>', 'also write CRM contacts and offline purchases as CSV import files here')
    .option('--segments', 'also create the example segments (pricing-page visitors, big spenders, cart abandoners, …)')
    .action(async (opts: DemoOpts, command: Command) => {
      const started = Date.now();
      if (opts.files) {
        const { crmContactsCsv, offlinePurchasesCsv } = await import('../../demo/files.ts');
        fs.mkdirSync(opts.files, { recursive: true });
        const contacts = Math.max(10, Math.round(Number(opts.events) / 20));
        const fileOpts = {
          events: Number(opts.events),
          start: new Date(Date.now() - Number(opts.days) * 86_400_000),
          days: Number(opts.days),
        };
        fs.writeFileSync(path.join(opts.files, 'crm-contacts.csv'), crmContactsCsv(Number(opts.seed), contacts, fileOpts));
        fs.writeFileSync(path.join(opts.files, 'offline-purchases.csv'), offlinePurchasesCsv(Number(opts.seed), contacts, fileOpts));
        process.stdout.write(`wrote ${opts.files}/crm-contacts.csv and offline-purchases.csv\n`);
      }
      if (opts.url) {
        if (!opts.writeKey) throw new Error('--url needs --write-key');
        const sent = await sendOverHttp(opts.url, opts.writeKey, await batchesOf(opts));
        process.stdout.write(`sent ${sent} events to ${opts.url} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
        if (opts.segments) await createExampleSegments(configFrom(command));
        return;
      }
      // Direct load (while no server runs on this data; with a server, use --url): through the same
      // durable log and processor the server uses, into the configured store.
      const config = configFrom(command);
      await withStore(config, async (store) => {
        const sources = new SourceService(store, Date.now);
        await sources.reload();
        const source = (await sources.list()).find((s) => s.name === 'Demo') ?? (await sources.create('Demo'));
        const events = await loadDirect(config, store, async (log) => {
          let appended = 0;
          let pending: Array<Promise<number>> = [];
          for (const b of await batchesOf(opts)) {
            // Not awaited one by one: appends made in the same turn share one durable commit.
            pending.push(
              log.append({
                sourceId: source.id,
                receivedAt: Date.parse(b.sentAt),
                typeHint: null,
                shape: 'batch',
                body: JSON.stringify(b),
                messages: b.batch.length,
              }),
            );
            appended += b.batch.length;
            if (pending.length >= 64) {
              await Promise.all(pending);
              pending = [];
            }
          }
          await Promise.all(pending);
          return appended;
        });
        process.stdout.write(
          `loaded ${events} demo events into source "Demo" (${source.id}, write key ${source.writeKey}) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
        );
      });
      if (opts.segments) await createExampleSegments(config);
    });
}

/** The demo's example segments, created once (by key); a running server computes them in the background. */
async function createExampleSegments(config: Config): Promise<void> {
  const { EXAMPLE_SEGMENTS } = await import('../../demo/example-segments.ts');
  await withStore(config, async (store) => {
    const segmentStore = await openSegmentStore(store);
    try {
      const service = new SegmentService(segmentStore, { now: Date.now });
      const existing = new Set((await service.list()).map((s) => s.id));
      for (const example of EXAMPLE_SEGMENTS) {
        if (existing.has(example.key)) continue;
        await service.create({ id: example.key, name: example.name, description: example.description, query: example.query });
        process.stdout.write(`created segment ${example.key}: ${example.query}\n`);
      }
    } finally {
      await segmentStore.close();
    }
  });
}
