/**
 * Privacy as the API and CLI see it: privacy requests (tracked, audited, run in the background one at
 * a time), collection policies per source, retention rules and their job, and the audit log.
 */
import { randomUUID } from 'node:crypto';
import { validateCollectionPolicy, type CollectionPolicy } from '../core/privacy/collection-policy.ts';
import {
  receivePrivacyRequest,
  transition,
  validatePrivacyRequestBody,
  isOverdue,
  type PrivacyRequest,
  type PrivacyRequestEvent,
} from '../core/privacy/requests.ts';
import { TesseraError } from '../core/errors/catalogue.ts';
import type { ConsentService } from '../consent/consent-service.ts';
import type { PrivacyStore, RetentionRule, StoredAuditEntry, StoredPrivacyRequest } from '../storage/privacy/privacy-store.ts';
import type { SubjectOperations } from './subject-operations.ts';

/** An export is kept this long for download, then deleted by the privacy job. */
export const EXPORT_KEEP_MS = 7 * 86_400_000;
const DAY_MS = 86_400_000;
const MAX_ATTEMPTS = 3;

export interface PrivacyServiceOptions {
  privacy: PrivacyStore;
  operations: SubjectOperations;
  consent: ConsentService;
  now: () => number;
  /** Whether a source exists (policies may only name real sources). */
  sourceExists: (id: string) => Promise<boolean>;
  newId?: () => string;
  /** Run requests in the background as they arrive (the server); false only records them (the CLI). */
  autoRun?: boolean;
  onError?: (err: unknown, context: string) => void;
}

/** A request as the API shows it: times as ISO-8601, the deadline and whether it is overdue. */
export interface RequestView {
  id: string;
  type: string;
  subject: { type: string; value: string };
  status: string;
  receivedAt: string;
  deadline: string;
  overdue: boolean;
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  error?: string;
  summary?: Readonly<Record<string, number>>;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class PrivacyService {
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(private readonly o: PrivacyServiceOptions) {}

  private get data() {
    return this.o.privacy.data;
  }

  view(r: PrivacyRequest): RequestView {
    return {
      id: r.id,
      type: r.type,
      subject: r.subject,
      status: r.status,
      receivedAt: iso(r.receivedAt),
      deadline: iso(r.deadline),
      overdue: isOverdue(r, this.o.now()),
      attempts: r.attempts,
      ...(r.startedAt !== undefined ? { startedAt: iso(r.startedAt) } : {}),
      ...(r.finishedAt !== undefined ? { finishedAt: iso(r.finishedAt) } : {}),
      ...(r.error !== undefined ? { error: r.error } : {}),
      ...(r.summary !== undefined ? { summary: r.summary } : {}),
    };
  }

  // ---- privacy requests ----

  /** Validate, record (status received, 30-day deadline), audit, and start running in the background. */
  async submit(body: unknown, actor: string): Promise<StoredPrivacyRequest> {
    const checked = validatePrivacyRequestBody(body);
    if (!checked.ok) throw new TesseraError('validation_failed', checked.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
    const now = this.o.now();
    const { hash } = this.o.operations.subjectKey(checked.value.subject);
    const request: StoredPrivacyRequest = {
      ...receivePrivacyRequest(this.o.newId?.() ?? randomUUID(), checked.value, now),
      subjectKey: hash,
    };
    await this.o.privacy.transaction('privacy', async (tx) => {
      await tx.putRequest(request, now);
      await tx.audit({
        at: now,
        actor,
        action: 'privacy.request',
        target: request.id,
        detail: { type: request.type, subjectType: request.subject.type, subjectHash: hash, note: request.note ?? null },
      });
    });
    this.kick();
    return request;
  }

  get(id: string): Promise<StoredPrivacyRequest | null> {
    return this.data.request(id);
  }

  list(filter: { status?: string; before?: number; limit: number }): Promise<StoredPrivacyRequest[]> {
    return this.data.requests({ status: filter.status, beforeReceivedAt: filter.before, limit: filter.limit });
  }

  /** The export of a finished export request (JSON text). */
  async exportOf(id: string): Promise<string> {
    const r = await this.get(id);
    if (r === null) throw new TesseraError('not_found', `privacy request ${id} does not exist`);
    if (r.type !== 'export' || r.status !== 'finished')
      throw new TesseraError('export_not_ready', `request ${id} is a ${r.status} ${r.type} request`);
    const body = await this.data.export(id);
    if (body === null)
      throw new TesseraError('not_found', `the export of request ${id} has expired (exports are kept ${EXPORT_KEEP_MS / DAY_MS} days)`);
    return body;
  }

  /** Run pending requests in the background (one runner per process; other instances claim rows atomically). */
  kick(): void {
    if (this.closed || this.o.autoRun === false) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.runPending().catch((err: unknown) => this.o.onError?.(err, 'privacy requests'));
      } while (this.again && !this.closed);
    })().finally(() => (this.running = null));
  }

  /** Wait for the background runner to finish what it has (tests, CLI, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Run every received request, and failed ones below the attempt limit, oldest first. */
  async runPending(): Promise<number> {
    let done = 0;
    const pending = [
      ...(await this.data.requests({ status: 'received', limit: 1000 })),
      ...(await this.data.requests({ status: 'failed', limit: 1000 })).filter((r) => r.attempts < MAX_ATTEMPTS),
    ].sort((a, b) => a.receivedAt - b.receivedAt);
    for (const r of pending) {
      if (this.closed) break;
      if (await this.runOne(r)) done++;
    }
    return done;
  }

  /** A request left `running` by a stopped process is failed, so it runs again. */
  async recoverInterrupted(): Promise<void> {
    for (const r of await this.data.requests({ status: 'running', limit: 1000 })) {
      await this.move(r, { kind: 'fail', at: this.o.now(), error: 'interrupted: the server stopped while it ran' }, 'running');
    }
  }

  private async runOne(r: StoredPrivacyRequest): Promise<boolean> {
    const started = await this.move(r, { kind: 'start', at: this.o.now() }, r.status);
    if (started === null) return false; // another instance took it
    try {
      const summary = await this.execute(started);
      const finished = await this.move(started, { kind: 'finish', at: this.o.now(), summary }, 'running');
      await this.data.audit({
        at: this.o.now(),
        actor: 'privacy',
        action: 'privacy.request.finished',
        target: r.id,
        detail: { type: r.type, subjectHash: r.subjectKey, summary },
      });
      return finished !== null;
    } catch (err) {
      await this.move(started, { kind: 'fail', at: this.o.now(), error: (err as Error).message.slice(0, 500) }, 'running');
      await this.data.audit({
        at: this.o.now(),
        actor: 'privacy',
        action: 'privacy.request.failed',
        target: r.id,
        detail: { type: r.type },
      });
      this.o.onError?.(err, `privacy request ${r.id}`);
      return false;
    }
  }

  private async execute(r: StoredPrivacyRequest): Promise<Record<string, number>> {
    const ops = this.o.operations;
    switch (r.type) {
      case 'export': {
        const doc = await ops.export(r.subject, r.id);
        const now = this.o.now();
        const body = JSON.stringify(doc);
        await this.data.putExport(r.id, body, now, now + EXPORT_KEEP_MS);
        return { events: (doc.events as unknown[]).length, bytes: Buffer.byteLength(body) };
      }
      case 'delete':
        return ops.erase(r.subject, r.id, 'delete', false);
      case 'delete_events':
        return ops.erase(r.subject, r.id, 'delete_events', false);
      case 'redact':
        return ops.erase(r.subject, r.id, 'redact', false);
      case 'suppress':
        return ops.suppress(r.subject, r.id);
      case 'suppress_with_delete':
        return ops.erase(r.subject, r.id, 'delete', true);
      case 'unsuppress':
        return ops.unsuppress(r.subject);
      default: {
        const _never: never = r.type;
        return _never;
      }
    }
  }

  /** Apply a lifecycle event and store it, only if the request is still in `expected` status. */
  private async move(r: StoredPrivacyRequest, event: PrivacyRequestEvent, expected: string): Promise<StoredPrivacyRequest | null> {
    const next = transition(r, event);
    if (!next.ok) throw new Error(next.reason);
    // Re-read: an erasure may have redacted the stored subject while it ran.
    const current = (await this.data.request(r.id)) ?? r;
    const stored: StoredPrivacyRequest = { ...next.request, subject: current.subject, subjectKey: r.subjectKey };
    return (await this.data.claimRequest(stored, expected, this.o.now())) ? stored : null;
  }

  // ---- collection policies ----

  async policy(sourceId: string): Promise<CollectionPolicy | null> {
    return (await this.data.policies()).get(sourceId) ?? null;
  }

  async setPolicy(sourceId: string, json: unknown, actor: string): Promise<CollectionPolicy> {
    if (!(await this.o.sourceExists(sourceId))) throw new TesseraError('not_found', `source ${sourceId} does not exist`);
    const checked = validateCollectionPolicy(json, await this.o.consent.config());
    if (!checked.ok) throw new TesseraError('validation_failed', checked.problems.map((p) => `${p.path || '/'}: ${p.message}`).join('; '));
    await this.o.privacy.transaction('privacy', async (tx) => {
      const now = this.o.now();
      await tx.putPolicy(sourceId, checked.value, actor, now);
      await tx.bumpVersion();
      await tx.audit({ at: now, actor, action: 'policy.set', target: sourceId, detail: { policy: checked.value } });
    });
    return checked.value;
  }

  async deletePolicy(sourceId: string, actor: string): Promise<boolean> {
    return this.o.privacy.transaction('privacy', async (tx) => {
      const existed = await tx.deletePolicy(sourceId);
      if (existed) {
        await tx.bumpVersion();
        await tx.audit({ at: this.o.now(), actor, action: 'policy.delete', target: sourceId, detail: {} });
      }
      return existed;
    });
  }

  // ---- retention ----

  retentionRules(): Promise<RetentionRule[]> {
    return this.data.retentionRules();
  }

  async setRetentionRules(rules: readonly RetentionRule[], actor: string): Promise<RetentionRule[]> {
    const seen = new Set<string>();
    for (const [i, r] of rules.entries()) {
      const key = `${r.sourceId}\u0000${r.eventName}`;
      if (seen.has(key)) throw new TesseraError('validation_failed', `/rules/${i}: a rule for this source and event name is already given`);
      seen.add(key);
      if (r.sourceId !== '*' && !(await this.o.sourceExists(r.sourceId)))
        throw new TesseraError('validation_failed', `/rules/${i}/sourceId: no source ${r.sourceId}`);
    }
    await this.o.privacy.transaction('privacy', async (tx) => {
      await tx.replaceRetentionRules(rules);
      await tx.audit({ at: this.o.now(), actor, action: 'retention.set', target: 'retention', detail: { rules } });
    });
    return this.retentionRules();
  }

  /**
   * Delete events older than their rule allows (event time), in chunks, each chunk one exclusive
   * transaction (serialised with the processor). Also deletes expired exports. Answers counts by rule.
   */
  async runRetention(): Promise<{ deleted: number; byRule: Array<RetentionRule & { deleted: number }>; exportsExpired: number }> {
    const now = this.o.now();
    const byRule: Array<RetentionRule & { deleted: number }> = [];
    let deleted = 0;
    for (const rule of await this.retentionRules()) {
      const cutoff = now - rule.days * DAY_MS;
      let n = 0;
      for (;;) {
        const chunk = await this.o.privacy.transaction('exclusive', (tx) => tx.deleteOldEvents(rule, cutoff, 5_000));
        n += chunk;
        if (chunk < 5_000 || this.closed) break;
      }
      byRule.push({ ...rule, deleted: n });
      deleted += n;
    }
    const exportsExpired = await this.data.deleteExpiredExports(now);
    if (deleted > 0 || exportsExpired > 0) await this.o.operations.reclaim();
    await this.data.putSetting('privacy.retention_last_run', JSON.stringify({ at: now, deleted, exportsExpired }));
    return { deleted, byRule, exportsExpired };
  }

  // ---- audit ----

  audit(filter: { action?: string; target?: string; before?: number; limit: number }): Promise<StoredAuditEntry[]> {
    return this.data.auditEntries({ action: filter.action, target: filter.target, beforeId: filter.before, limit: filter.limit });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
  }
}
