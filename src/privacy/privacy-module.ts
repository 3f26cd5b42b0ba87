/**
 * Builds the consent and privacy services for the composition root, and runs their background work:
 * the consent follower after each processor batch, pending privacy requests, the retention job, and a
 * scrub of the durable log after the gate dropped suppressed events (their bodies sat in the log).
 */
import type { Config } from '../config/config.ts';
import { ConsentFollower } from '../consent/consent-follower.ts';
import { ConsentService } from '../consent/consent-service.ts';
import { openPrivacyStore } from '../storage/privacy/open-privacy-store.ts';
import type { PrivacyStore } from '../storage/privacy/privacy-store.ts';
import type { Store } from '../storage/store.ts';
import { loadSecrets } from './installation-secret.ts';
import { PrivacyGate } from './privacy-gate.ts';
import { PrivacyService } from './privacy-service.ts';
import { SubjectOperations, type LogAccess } from './subject-operations.ts';

export interface PrivacyModuleDeps {
  config: Config;
  store: Store;
  log: LogAccess;
  now: () => number;
  /** Log position this instance's processor has committed; null when none runs here. */
  processedSeq: () => number | null;
  profileView: (id: string) => Promise<unknown>;
  sourceExists: (id: string) => Promise<boolean>;
  /** Run privacy requests in the background as they arrive (default true; the CLI only records them). */
  runRequests?: boolean;
  onError: (err: unknown, context: string) => void;
}

export interface PrivacyModule {
  store: PrivacyStore;
  consent: ConsentService;
  follower: ConsentFollower;
  service: PrivacyService;
  operations: SubjectOperations;
  /** A gate over this store, for a processor running in this thread. */
  gate(): PrivacyGate;
  /** Tell the module a processor batch committed (what its gate dropped, where it stands). */
  onBatch(report: { processedSeq: number; gateDropped: Record<string, number> }): void;
  /** Start the background jobs. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Open and migrate the privacy tables and build the services (jobs start with `start()`). */
export async function createPrivacyModule(deps: PrivacyModuleDeps): Promise<PrivacyModule> {
  const { config, now } = deps;
  const store = await openPrivacyStore(deps.store);
  await store.migrate();
  const secrets = await loadSecrets(store.data, config.installationSecret);
  const follower = new ConsentFollower(store, now);
  const consent = new ConsentService({
    privacy: store,
    follower,
    secrets,
    phoneRegion: config.phoneRegion,
    now,
    sms: { brand: config.smsBrand, helpContact: config.smsHelpContact },
  });
  const operations = new SubjectOperations({
    privacy: store,
    follower,
    secrets,
    phoneRegion: config.phoneRegion,
    now,
    profileView: deps.profileView,
    log: deps.log,
    processedSeq: deps.processedSeq,
    barrierWaitMs: 60_000,
  });
  const service = new PrivacyService({
    privacy: store,
    operations,
    consent,
    now,
    sourceExists: deps.sourceExists,
    autoRun: deps.runRequests ?? true,
    onError: deps.onError,
  });

  const timers: NodeJS.Timeout[] = [];
  let syncQueued = false;
  let scrubTimer: NodeJS.Timeout | null = null;
  let scrubUpTo = 0;
  let lastScrub = 0;
  const sync = () => {
    if (syncQueued) return;
    syncQueued = true;
    setImmediate(() => {
      syncQueued = false;
      follower.sync().catch((err: unknown) => deps.onError(err, 'consent follower'));
    });
  };
  const scrub = () => {
    scrubTimer = null;
    lastScrub = Date.now();
    try {
      deps.log.scrub(scrubUpTo);
    } catch (err) {
      deps.onError(err, 'durable log scrub');
    }
  };

  return {
    store,
    consent,
    follower,
    service,
    operations,
    gate: () =>
      new PrivacyGate({
        data: store.data,
        secrets,
        phoneRegion: config.phoneRegion,
        now,
        onError: (err) => deps.onError(err, 'collection gate'),
      }),
    onBatch(report) {
      sync();
      if ((report.gateDropped['suppressed'] ?? 0) > 0) {
        // Suppressed bodies were in the log; rewrite it once they are processed, at most every 2 s.
        scrubUpTo = Math.max(scrubUpTo, report.processedSeq);
        scrubTimer ??= setTimeout(scrub, Math.max(0, lastScrub + 2_000 - Date.now())).unref();
      }
    },
    async start() {
      await service.recoverInterrupted();
      service.kick();
      // Requests submitted by the CLI or another instance, and consent of batches other nodes processed.
      timers.push(setInterval(() => (service.kick(), sync()), 5_000).unref());
      const retention = () => void service.runRetention().catch((err: unknown) => deps.onError(err, 'retention job'));
      timers.push(setInterval(retention, config.privacyJobIntervalMs).unref());
    },
    async close() {
      for (const t of timers) clearInterval(t);
      if (scrubTimer !== null) {
        clearTimeout(scrubTimer);
        scrub();
      }
      await service.close();
      await follower.sync().catch(() => undefined);
    },
  };
}
