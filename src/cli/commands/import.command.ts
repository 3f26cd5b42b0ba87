/**
 * `tessera import <file.csv>`: import a CSV file as identify or track events of a source — over the
 * admin API of a running server (`--url`, `--token`), or directly through the log and the processor
 * when no server runs on this data directory.
 */
import type { Command } from 'commander';
import fs from 'node:fs';
import { ImportService, type ImportReport } from '../../imports/import-service.ts';
import { SourceService } from '../../sources/source-service.ts';
import { configFrom, printJson, withStore } from '../context.ts';
import { loadDirect } from '../direct-load.ts';

interface ImportOpts {
  source: string;
  kind: 'identify' | 'track';
  event?: string;
  numeric?: string;
  url?: string;
  token?: string;
}

export function registerImportCommand(program: Command): void {
  program
    .command('import <file>')
    .description('import a CSV file (header row) as identify or track events; columns as in docs/imports.md')
    .requiredOption('--source <id>', 'source id the rows are imported into')
    .option('--kind <kind>', 'identify (contacts, CRM exports) or track (purchases, survey answers)', 'identify')
    .option('--event <name>', 'event name of every row of a track import (else an `event` column)')
    .option('--numeric <columns>', 'comma-separated columns whose values are numbers (default: inferred)')
    .option('--url <url>', 'send to a running Tessera (its admin API) instead of loading directly')
    .option('--token <token>', 'admin token for --url (or TESSERA_ADMIN_TOKEN)')
    .action(async (file: string, opts: ImportOpts, command: Command) => {
      if (opts.kind !== 'identify' && opts.kind !== 'track') throw new Error('--kind must be identify or track');
      const csv = fs.readFileSync(file, 'utf8');
      const mapping = { kind: opts.kind, event: opts.event, numeric: opts.numeric?.split(',').map((c) => c.trim()) };
      let report: ImportReport;
      if (opts.url) {
        const token = opts.token ?? process.env.TESSERA_ADMIN_TOKEN;
        if (!token) throw new Error('--url needs --token (or TESSERA_ADMIN_TOKEN)');
        const query = new URLSearchParams({
          kind: opts.kind,
          ...(opts.event ? { event: opts.event } : {}),
          ...(opts.numeric ? { numeric: opts.numeric } : {}),
        });
        const res = await fetch(`${opts.url.replace(/\/$/, '')}/api/v1/sources/${encodeURIComponent(opts.source)}/imports?${query}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
          body: csv,
        });
        if (!res.ok) throw new Error(`import refused (${res.status}): ${await res.text()}`);
        report = (await res.json()) as ImportReport;
      } else {
        const config = configFrom(command);
        report = await withStore(config, async (store) => {
          const sources = new SourceService(store, Date.now);
          await sources.reload();
          return loadDirect(config, store, (log) => new ImportService(log, sources, Date.now).importCsv(opts.source, csv, mapping));
        });
      }
      printJson(report);
      if (report.rejectedCount > 0) process.exitCode = 1;
    });
}
