/**
 * `tessera privacy …`: privacy requests and exports from the command line, over the same services the
 * API uses. A request submitted here is run by the running server (it polls for new requests); with
 * `--run` it runs here instead, for an installation whose server is stopped.
 */
import type { Command } from 'commander';
import type { Config } from '../../config/config.ts';
import { openClientLog } from '../../log/open-log.ts';
import { createPrivacyModule, type PrivacyModule } from '../../privacy/privacy-module.ts';
import { ProfileService } from '../../profiles/profile-service.ts';
import { openProfileBodies } from '../../storage/profile-bodies/open-profile-bodies.ts';
import type { Store } from '../../storage/store.ts';
import { configFrom, printJson, withStore } from '../context.ts';

async function withPrivacy(config: Config, fn: (privacy: PrivacyModule, store: Store) => Promise<void>): Promise<void> {
  await withStore(config, async (store) => {
    const { log } = await openClientLog(config.log, store);
    try {
      const profiles = new ProfileService(store, await openProfileBodies(store), log, {
        phoneRegion: config.phoneRegion,
        processorRunning: false,
        now: Date.now,
      });
      const privacy = await createPrivacyModule({
        config,
        store,
        log,
        now: Date.now,
        processedSeq: () => null,
        durableSeq: () => null,
        profileView: (id) => profiles.get(id),
        sourceExists: async (id) => (await store.getSource(id)) !== null,
        runRequests: false,
        onError: (err, context) => process.stderr.write(`${context}: ${(err as Error).message}\n`),
      });
      await fn(privacy, store);
    } finally {
      await log.close();
    }
  });
}

export function registerPrivacyCommands(program: Command): void {
  const privacy = program.command('privacy').description('privacy requests (export, erasure, suppression) and the audit log');
  privacy
    .command('export')
    .description('print everything held about a subject as JSON (the DSAR export), without recording a request')
    .requiredOption('--type <type>', 'identifier type: email, user_id, phone, anonymous_id, …')
    .requiredOption('--value <value>', 'the identifier value')
    .action(async (opts: { type: string; value: string }, command: Command) => {
      await withPrivacy(configFrom(command), async (p) => {
        printJson(await p.operations.export({ type: opts.type, value: opts.value }, 'cli'));
      });
    });
  privacy
    .command('request <type>')
    .description('submit a privacy request: export, delete, delete_events, redact, suppress, suppress_with_delete, unsuppress')
    .requiredOption('--subject-type <type>', 'identifier type of the subject')
    .requiredOption('--subject-value <value>', 'identifier value of the subject')
    .option('--note <text>', 'free text for the audit trail (ticket number, …)')
    .option('--run', 'run it now in this process (only when no server is running)')
    .action(async (type: string, opts: { subjectType: string; subjectValue: string; note?: string; run?: boolean }, command: Command) => {
      await withPrivacy(configFrom(command), async (p) => {
        const body = { type, subject: { type: opts.subjectType, value: opts.subjectValue }, ...(opts.note ? { note: opts.note } : {}) };
        const r = await p.service.submit(body, 'cli');
        if (opts.run) await p.service.runPending();
        const done = (await p.service.get(r.id)) ?? r;
        printJson(p.service.view(done));
        if (opts.run && done.type === 'export' && done.status === 'finished') printJson(JSON.parse(await p.service.exportOf(done.id)));
        await p.close();
      });
    });
  privacy
    .command('show <id>')
    .description('print a privacy request (status, deadline, what was done)')
    .action(async (id: string, _opts: unknown, command: Command) => {
      await withPrivacy(configFrom(command), async (p) => {
        const r = await p.service.get(id);
        if (r === null) {
          process.stderr.write(`no privacy request ${id}\n`);
          process.exitCode = 1;
          return;
        }
        printJson(p.service.view(r));
      });
    });
  privacy
    .command('audit')
    .description('print the audit log, newest first')
    .option('--action <action>', 'an action or prefix (consent, privacy.request, identity.merge, policy)')
    .option('--limit <n>', 'how many entries', '50')
    .action(async (opts: { action?: string; limit: string }, command: Command) => {
      await withPrivacy(configFrom(command), async (p) => {
        const limit = Math.min(1000, Math.max(1, Number(opts.limit) || 50));
        printJson(await p.service.audit({ ...(opts.action ? { action: opts.action } : {}), limit }));
      });
    });
}
