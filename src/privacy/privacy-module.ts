/**
 * Builds the consent and privacy services for the composition root, and runs their background work:
 * the consent follower after each processor batch, pending privacy requests, the retention job, and the
 * scrubs of the durable log (after an erasure, and after the gate dropped suppressed events: their bodies
 * sat in the log).
 */
import type { Config } from '../config/config.ts';
import { ConsentFollower } from '../consent/consent-follower.ts';
import { ConsentService } from '../consent/consent-service.ts';
import { openPrivacyStore } from '../storage/privacy/open-privacy-store.ts';
import type { PrivacyStore } from '../storage/privacy/privacy-store.ts';
import type { Store } from '../storage/store.ts';
import { loadSecrets } from './installation-secret.ts';
import { LogScrubber, type ScrubbableLog } from './log-scrubber.ts';
import { PrivacyGate } from './privacy-gate.ts';
import { PrivacyService } from './privacy-service.ts';
import { SubjectOperations, type LogAccess } from './subject-operations.ts';

export interface PrivacyModuleDeps {
  config: Config;
  store: Store;
  log: Pick<LogAccess, 'append'> & ScrubbableLog;
  now: () => number;
  /** Log position this instance's processor has committed; null when none runs here. */
  processedSeq: () => number | null;
  /** Log position up to which that processor's commits survive power loss; null when none runs here. */
  durableSeq: () => number | null;
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
  const scrubber = new LogScrubber({
    log: deps.log,
    durableSeq: deps.durableSeq,
    now,
    onError: (err) => deps.onError(err, 'durable log scrub'),
  });
  const operations = new SubjectOperations({
    privacy: store,
    follower,
    secrets,
    phoneRegion: config.phoneRegion,
    now,
    profileView: deps.profileView,
    log: { append: (entry) => deps.log.append(entry), scrub: (seq) => scrubber.scrubNow(seq, 30_000) },
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
  const sync = () => {
    if (syncQueued) return;
    syncQueued = true;
    setImmediate(() => {
      syncQueued = false;
      follower.sync().catch((err: unknown) => deps.onError(err, 'consent follower'));
    });
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
      // Suppressed bodies were in the log: rewrite it once they are processed, at most every 2 s.
      if ((report.gateDropped['suppressed'] ?? 0) > 0) scrubber.request(report.processedSeq);
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
      scrubber.close();
      await service.close();
      await follower.sync().catch(() => undefined);
    },
  };
}
