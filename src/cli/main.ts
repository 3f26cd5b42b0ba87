/** The `tessera` command line: a thin adapter over the same services the HTTP API uses. */
import { Command } from 'commander';
import { ConfigError } from '../config/config-error.ts';
import { registerDemoCommand } from './commands/demo.command.ts';
import { registerEventsCommands } from './commands/events.command.ts';
import { registerImportCommand } from './commands/import.command.ts';
import { registerMigrateCommand } from './commands/migrate.command.ts';
import { registerProfilesCommands } from './commands/profiles.command.ts';
import { registerPrivacyCommands } from './commands/privacy.command.ts';
import { registerSegmentsCommands } from './commands/segments.command.ts';
import { registerServeCommand } from './commands/serve.command.ts';
import { registerSourcesCommands } from './commands/sources.command.ts';

const program = new Command();
program
  .name('tessera')
  .description('Tessera, the open-source Customer Data Platform')
  .option('--data-dir <dir>', 'data directory (TESSERA_DATA_DIR, default ./data)')
  .option('--database-url <url>', 'postgres:// URL, or sqlite:<file> (TESSERA_DATABASE_URL; default: SQLite in the data dir)')
  .showHelpAfterError();

registerServeCommand(program);
registerMigrateCommand(program);
registerSourcesCommands(program);
registerEventsCommands(program);
registerProfilesCommands(program);
registerPrivacyCommands(program);
registerSegmentsCommands(program);
registerImportCommand(program);
registerDemoCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
