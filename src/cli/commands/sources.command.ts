import type { Command } from 'commander';
import { SourceService } from '../../sources/source-service.ts';
import { configFrom, printJson, withStore } from '../context.ts';

export function registerSourcesCommands(program: Command): void {
  const sources = program.command('sources').description('manage sources and their write keys');
  sources
    .command('create <name>')
    .description('create a source; prints its id and write key')
    .action(async (name: string, _opts: unknown, command: Command) => {
      await withStore(configFrom(command), async (store) => printJson(await new SourceService(store, Date.now).create(name)));
    });
  sources
    .command('list')
    .description('list sources')
    .action(async (_opts: unknown, command: Command) => {
      await withStore(configFrom(command), async (store) => printJson(await store.listSources()));
    });
}
