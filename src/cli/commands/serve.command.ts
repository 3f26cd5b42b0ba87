import type { Command } from 'commander';
import { createTessera } from '../../app.ts';
import { createLogger } from '../../observability/logger.ts';
import { configFrom } from '../context.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the API and the processor (default: 127.0.0.1:8080, SQLite under ./data)')
    .option('-p, --port <port>', 'port (PORT, default 8080)')
    .option('-H, --host <host>', 'host (HOST, default 127.0.0.1)')
    .action(async (opts: { port?: string; host?: string }, command: Command) => {
      const config = configFrom(command, { port: opts.port, host: opts.host });
      const logger = createLogger(config.logLevel);
      const tessera = await createTessera(config, { logger });
      if (tessera.generatedAdminToken) {
        // Shown once, on the terminal only: the store keeps just its hash.
        process.stderr.write(
          `\n  Admin token (shown once, keep it safe): ${tessera.generatedAdminToken}\n  Use it as: Authorization: Bearer <token>\n\n`,
        );
      }
      const address = await tessera.listen();
      // Which durable log (never its credentials): the embedded file, or the NATS servers and stream.
      const log =
        config.log.kind === 'nats' ? { kind: 'nats', servers: config.log.servers, stream: config.log.stream } : { kind: 'sqlite' };
      logger.info(
        { address, storage: config.storage.kind, log, processor: config.processor, dataDir: config.dataDir },
        'tessera is listening',
      );
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'shutting down: draining in-flight work');
        await tessera.close();
        logger.info('stopped');
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });
}
