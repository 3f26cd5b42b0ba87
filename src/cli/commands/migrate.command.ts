import type { Command } from 'commander';
import { configFrom, withStore } from '../context.ts';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('create or update the database schema, then exit')
    .action(async (_opts: unknown, command: Command) => {
      const config = configFrom(command);
      await withStore(config, async () => undefined);
      process.stdout.write(`schema up to date (${config.storage.kind})\n`);
    });
}
