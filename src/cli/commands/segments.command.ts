/** `tessera segments …`: define, list, read and preview segments, straight against the store. */
import type { Command } from 'commander';
import { TesseraError } from '../../core/errors/catalogue.ts';
import { SegmentService } from '../../segments/segment-service.ts';
import { openSegmentStore } from '../../storage/segments/open-segment-store.ts';
import { configFrom, printJson, withStore } from '../context.ts';

async function withSegments(command: Command, fn: (segments: SegmentService) => Promise<void>): Promise<void> {
  await withStore(configFrom(command), async (store) => {
    const segmentStore = await openSegmentStore(store);
    await segmentStore.migrate();
    try {
      await fn(new SegmentService(segmentStore, { now: Date.now }));
    } catch (err) {
      // Expected failures (a parse error, an unknown segment) are messages for the user, not stack traces.
      if (!(err instanceof TesseraError)) throw err;
      process.stderr.write(`${err.code}: ${err.message}\n`);
      process.exitCode = 1;
    } finally {
      await segmentStore.close();
    }
  });
}

export function registerSegmentsCommands(program: Command): void {
  const segments = program.command('segments').description('define segments and read their members');
  segments
    .command('create')
    .description('create a segment from query text; a running server computes it over existing profiles, then keeps it current')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--query <query>', 'the rule, e.g. "event(\'Order Completed\').within(30 days).count() >= 3"')
    .option('--id <id>', "the segment's id (what segment('id') refers to); a UUID by default")
    .option('--description <text>', 'what the segment is for')
    .action(async (opts: { name: string; query: string; id?: string; description?: string }, command: Command) => {
      await withSegments(command, async (service) => printJson(await service.create(opts)));
    });
  segments
    .command('list')
    .description('list segments with their status and size')
    .action(async (_opts: unknown, command: Command) => {
      await withSegments(command, async (service) => {
        for (const s of await service.list()) process.stdout.write(`${s.id}\t${s.status}\t${s.size}\t${s.name}\t${s.query}\n`);
      });
    });
  segments
    .command('members <id>')
    .description('print the members of a segment, one profile id and since-date per line')
    .option('--after <profileId>', 'start after this profile id (paging)')
    .option('--limit <n>', 'how many', '1000')
    .action(async (id: string, opts: { after?: string; limit: string }, command: Command) => {
      await withSegments(command, async (service) => {
        const page = await service.members(id, { after: opts.after, limit: Math.max(1, Math.min(100_000, Number(opts.limit) || 1000)) });
        for (const m of page.items) process.stdout.write(`${m.profileId}\t${m.since}\n`);
        if (page.nextAfter !== null) process.stderr.write(`more: --after ${page.nextAfter}\n`);
      });
    });
  segments
    .command('preview')
    .description('count the profiles a rule selects now, with a sample, without saving anything')
    .requiredOption('--query <query>', 'the rule')
    .action(async (opts: { query: string }, command: Command) => {
      await withSegments(command, async (service) => printJson(await service.preview({ query: opts.query })));
    });
}
