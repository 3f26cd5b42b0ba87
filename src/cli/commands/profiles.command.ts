import type { Command } from 'commander';
import { DEFAULT_RULES, validateRules } from '../../core/identity/rules.ts';
import { openClientLog } from '../../log/open-log.ts';
import { IDENTITY_RULES_SETTING } from '../../processor/processor.ts';
import { ProfileService } from '../../profiles/profile-service.ts';
import { rebuildProfiles } from '../../profiles/rebuild-profiles.ts';
import { openProfileBodies } from '../../storage/profile-bodies/open-profile-bodies.ts';
import type { Store } from '../../storage/store.ts';
import { configFrom, printJson, withStore } from '../context.ts';
import type { Config } from '../../config/config.ts';

/** Reads need no log; the service is built with one so that its types stay honest. */
async function withProfiles(config: Config, fn: (profiles: ProfileService, store: Store) => Promise<void>): Promise<void> {
  await withStore(config, async (store) => {
    const { log } = await openClientLog(config.log, store);
    try {
      await fn(
        new ProfileService(store, await openProfileBodies(store), log, {
          phoneRegion: config.phoneRegion,
          processorRunning: false,
          now: Date.now,
        }),
        store,
      );
    } finally {
      await log.close();
    }
  });
}

function notFound(what: string): void {
  process.stderr.write(`${what}\n`);
  process.exitCode = 1;
}

export function registerProfilesCommands(program: Command): void {
  const profiles = program.command('profiles').description('read and rebuild unified customer profiles');
  profiles
    .command('show <id>')
    .description('print a profile (traits with sources, identities with provenance, merge history) as JSON')
    .option('--events <n>', 'also print its latest events', '0')
    .action(async (id: string, opts: { events: string }, command: Command) => {
      await withProfiles(configFrom(command), async (service) => {
        const profile = await service.get(id);
        if (profile === null) return notFound(`no profile ${id}`);
        const n = Math.max(0, Number(opts.events) || 0);
        const events = n > 0 ? ((await service.events(profile.id, { limit: n }))?.items ?? []) : undefined;
        printJson({ ...profile, merges: await service.merges(profile.id), ...(events ? { events } : {}) });
      });
    });
  profiles
    .command('lookup')
    .description('find the profile holding an identifier')
    .requiredOption('--type <type>', 'identifier type: user_id, email, phone, anonymous_id, device_id, … or a custom type')
    .requiredOption('--value <value>', 'the identifier value (standardised first: e-mails lower-cased, phones to E.164)')
    .action(async (opts: { type: string; value: string }, command: Command) => {
      await withProfiles(configFrom(command), async (service) => {
        const profile = await service.lookup(opts.type, opts.value);
        if (profile === null) return notFound(`no profile holds that ${opts.type}`);
        printJson(profile);
      });
    });
  profiles
    .command('rebuild')
    .description('recompute every profile from the identity facts and every trait from the identify events')
    .action(async (_opts: unknown, command: Command) => {
      await withStore(configFrom(command), async (store) => {
        const raw = await store.getSetting(IDENTITY_RULES_SETTING);
        const checked = raw === null ? null : validateRules(JSON.parse(raw));
        if (checked !== null && !checked.ok) throw new Error(`stored identity rules are invalid: ${checked.errors.join('; ')}`);
        const started = Date.now();
        const report = await rebuildProfiles(store, checked?.rules ?? DEFAULT_RULES, Date.now());
        process.stdout.write(
          `rebuilt ${report.profiles} profiles (${report.identities} identities) from ${report.facts} facts in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
        );
      });
    });
}
