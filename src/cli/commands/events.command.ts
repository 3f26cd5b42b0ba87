import type { Command } from 'commander';
import type { StoredEvent } from '../../storage/store.ts';
import { configFrom, withStore } from '../context.ts';

const line = (e: StoredEvent) =>
  `${new Date(e.timestamp).toISOString()}  ${e.type.padEnd(8)} ${(e.name ?? '').padEnd(24)} user=${e.userId ?? '-'} anon=${e.anonymousId ?? '-'} src=${e.sourceId} id=${e.messageId}`;

export function registerEventsCommands(program: Command): void {
  const events = program.command('events').description('read stored events');
  events
    .command('tail')
    .description('print the latest events, then follow new ones (Ctrl-C to stop)')
    .option('-n, --lines <n>', 'how many recent events to print first', '20')
    .option('--no-follow', 'print the recent events and exit')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { lines: string; follow: boolean; json?: boolean }, command: Command) => {
      const print = (e: StoredEvent) => process.stdout.write(`${opts.json ? JSON.stringify(e) : line(e)}\n`);
      await withStore(configFrom(command), async (store) => {
        const recent = (await store.listEvents({ limit: Math.max(0, Number(opts.lines) || 0) })).reverse();
        recent.forEach(print);
        let after = recent[recent.length - 1]?.seq ?? (await store.listEvents({ limit: 1 }))[0]?.seq ?? 0;
        let stop = false;
        process.once('SIGINT', () => (stop = true));
        while (opts.follow && !stop) {
          const next = await store.listEvents({ afterSeq: after, limit: 500 });
          next.forEach(print);
          if (next.length > 0) after = next[next.length - 1]!.seq;
          else await new Promise((r) => setTimeout(r, 500));
        }
      });
    });
}
