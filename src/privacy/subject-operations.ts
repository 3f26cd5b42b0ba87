/**
 * What a privacy request does to a subject: export everything held about them, erase (delete, delete
 * events, redact), suppress and unsuppress.
 *
 * Erasure order (so nothing of the subject slips in while it runs):
 * 1. resolve the subject to every identifier they had (see `resolveSubject`);
 * 2. commit the suppression keys of those identifiers (HMAC, so the list holds no personal data) and
 *    bump the privacy version: every collection gate reloads before its next batch;
 * 3. barrier: append an empty entry to the durable log and wait until this instance's processor has
 *    passed it — every batch committed after that was gated with the new keys, so events of the
 *    subject arriving meanwhile are dropped (the edge still answered 200; the drops are counted);
 * 4. in one exclusive transaction (serialised with the processor): resolve again (identifiers brought
 *    by events processed before the barrier), suppress those too, and delete everywhere;
 * 5. reclaim: SQLite WAL checkpoint (the store runs secure_delete, so pages are zeroed), PostgreSQL
 *    VACUUM of the touched tables, and a scrub of the durable log file (VACUUM + WAL truncation);
 * 6. a `delete`, `delete_events` or `redact` without suppression removes its (temporary) keys again.
 */
import type { CountryCode } from 'libphonenumber-js';
import { anonymiseMessage } from '../core/privacy/fields.ts';
import { suppressionKey } from '../core/privacy/suppression.ts';
import type { PrivacySubject } from '../core/privacy/requests.ts';
import { identifierKey, parseIdentifierKey, standardise } from '../core/identity/identifiers.ts';
import { TesseraError } from '../core/errors/catalogue.ts';
import type { JsonObject } from '../core/event/event.ts';
import type { ConsentFollower } from '../consent/consent-follower.ts';
import type { PrivacyData } from '../storage/privacy/privacy-data.ts';
import {
  ERASURE_TABLES,
  eraseSubject,
  readSubjectData,
  resolveSubject,
  segmentTables,
  type ErasureMode,
  type SubjectScope,
} from '../storage/privacy/privacy-erasure.ts';
import type { PrivacyStore } from '../storage/privacy/privacy-store.ts';
import type { PrivacySecrets } from './installation-secret.ts';

export interface LogAccess {
  /** Append an entry to the durable log; resolves with its seq once durable. */
  append(entry: { sourceId: string; receivedAt: number; typeHint: null; shape: 'batch'; body: string; messages: number }): Promise<number>;
  /**
   * Forget processed entries up to `uptoSeq` and rewrite the log's files without their bytes, trying
   * again while they are busy: true once done, false if still not done after a while (the tries go on).
   */
  scrub(uptoSeq: number): Promise<boolean>;
}

export interface SubjectOperationsOptions {
  privacy: PrivacyStore;
  follower: ConsentFollower;
  secrets: PrivacySecrets;
  phoneRegion: CountryCode;
  now: () => number;
  /** The profile as the profiles API shows it (traits with sources, identities with provenance). */
  profileView: (id: string) => Promise<unknown>;
  log: LogAccess;
  /** Log position this instance's processor has committed; null when none runs here. */
  processedSeq: () => number | null;
  /** Longest wait for the processor to pass the barrier. */
  barrierWaitMs: number;
}

const REDACTED = '[redacted]';

export class SubjectOperations {
  constructor(private readonly o: SubjectOperationsOptions) {}

  /** The standardised key (`type:value`) of a subject, and its keyed hash (what logs and audit entries name). */
  subjectKey(subject: PrivacySubject): { key: string; hash: string } {
    const s = standardise(subject.type, subject.value, this.o.phoneRegion);
    if (!s.ok) throw new TesseraError('validation_failed', `${subject.type} is not a valid identifier of that type`);
    return { key: identifierKey(s.identifier), hash: suppressionKey(this.o.secrets.suppression, s.identifier) };
  }

  private hashes(keys: readonly string[]): string[] {
    return keys.flatMap((k) => {
      const id = parseIdentifierKey(k);
      return id === null ? [] : [suppressionKey(this.o.secrets.suppression, id)];
    });
  }

  /** Everything held about the subject, as one JSON document, with nothing about anyone else. */
  async export(subject: PrivacySubject, requestId: string): Promise<Record<string, unknown>> {
    await this.o.follower.sync();
    const { key } = this.subjectKey(subject);
    const data = this.o.privacy.data;
    const scope = await resolveSubject(data, key);
    const core = await readSubjectData(data, this.o.privacy.runner, scope);
    const consent = scope.profileId === null ? null : await data.consent(scope.profileId);
    const contactPoints = scope.keys.flatMap((k) => {
      const id = parseIdentifierKey(k);
      return id?.type === 'email' ? [`email:${id.value}`] : id?.type === 'phone' ? [`sms:${id.value}`] : [];
    });
    const requests = await data.requests({ limit: 1000 });
    const mine = new Set(this.hashes(scope.keys));
    return {
      generatedAt: new Date(this.o.now()).toISOString(),
      requestId,
      subject,
      identifiers: scope.keys.map((k) => parseIdentifierKey(k)),
      profile: scope.profileId === null ? null : await this.o.profileView(scope.profileId),
      consent: consent ?? { purposes: {}, history: [] },
      subscriptions: Object.values(await data.subscriptions(contactPoints)),
      ...core,
      privacyRequests: requests
        .filter((r) => mine.has(r.subjectKey))
        .map((r) => ({ id: r.id, type: r.type, status: r.status, receivedAt: new Date(r.receivedAt).toISOString() })),
    };
  }

  /** Suppress every identifier the subject had (permanently, until an unsuppress). */
  async suppress(subject: PrivacySubject, requestId: string): Promise<Record<string, number>> {
    const scope = await resolveSubject(this.o.privacy.data, this.subjectKey(subject).key);
    const keys = this.hashes(scope.keys);
    await this.o.privacy.transaction('privacy', async (tx) => {
      await tx.addSuppressions(keys, requestId, false, this.o.now());
      await tx.bumpVersion();
    });
    return { identifiersSuppressed: keys.length, sharedIdentifiers: scope.sharedKeys.length };
  }

  /** Lift every suppression that covers the subject's identifier (the whole group suppressed with it). */
  async unsuppress(subject: PrivacySubject): Promise<Record<string, number>> {
    const { key, hash } = this.subjectKey(subject);
    const scope = await resolveSubject(this.o.privacy.data, key);
    const keys = [...new Set([hash, ...this.hashes(scope.keys)])];
    return this.o.privacy.transaction('privacy', async (tx) => {
      const requests = await tx.suppressingRequests(keys);
      const removed = await tx.removeSuppressions(requests);
      await tx.bumpVersion();
      return { suppressionsRemoved: removed, requests: requests.length };
    });
  }

  /** Erase the subject (see the order above). `keepSuppressed`: the suppression stays after the erasure. */
  async erase(subject: PrivacySubject, requestId: string, mode: ErasureMode, keepSuppressed: boolean): Promise<Record<string, number>> {
    await this.o.follower.sync();
    const { key } = this.subjectKey(subject);
    const first = await resolveSubject(this.o.privacy.data, key);
    await this.o.privacy.transaction('privacy', async (tx) => {
      await tx.addSuppressions(this.hashes(first.keys), requestId, !keepSuppressed, this.o.now());
      await tx.bumpVersion();
    });
    const barrier = await this.barrier();
    const summary = await this.o.privacy.transaction('exclusive', async (tx) => {
      const scope = await resolveSubject(tx, key);
      const hashes = this.hashes(scope.keys);
      await tx.addSuppressions(hashes, requestId, !keepSuppressed, this.o.now());
      const erased = await eraseSubject(tx, this.o.privacy.runner, scope, mode, (payload) => redactPayload(payload, scope));
      if (mode !== 'delete_events') {
        erased.exports = await tx.deleteExportsOf(hashes);
        erased.requestSubjectsRedacted = await tx.redactRequestSubjects(hashes);
      }
      return { ...erased, identifiers: scope.keys.length, sharedIdentifiers: scope.sharedKeys.length };
    });
    await this.reclaim();
    if (!keepSuppressed) {
      await this.o.privacy.transaction('privacy', async (tx) => {
        await tx.q.run('DELETE FROM privacy_suppressions WHERE request_id = $1 AND temporary = 1', [requestId]);
        await tx.bumpVersion();
      });
    }
    return { ...summary, processorBarrier: barrier ? 1 : 0 };
  }

  /** Wait until the local processor has passed a log entry appended now; false when none runs or it did not in time. */
  private async barrier(): Promise<boolean> {
    if (this.o.processedSeq() === null) return false;
    const seq = await this.o.log.append({
      sourceId: '',
      receivedAt: this.o.now(),
      typeHint: null,
      shape: 'batch',
      body: '{"batch":[]}',
      messages: 0,
    });
    const deadline = Date.now() + this.o.barrierWaitMs;
    while ((this.o.processedSeq() ?? 0) < seq) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  /** Make deleted bytes leave the files: store pages/WAL or dead tuples, and the durable log. */
  async reclaim(): Promise<void> {
    const tables = [...ERASURE_TABLES, ...(await segmentTables(this.o.privacy.runner))];
    await this.o.privacy.runner.reclaim(tables);
    // A finished erasure means its bytes have left the files; a request that fails here runs again.
    if (!(await this.o.log.scrub(this.o.processedSeq() ?? 0)))
      throw new Error('the durable log still held erased entries after its scrubs (busy, or the store not yet durable); it runs again');
  }
}

/** De-identify a stored payload: identity and PII fields removed, any string naming the subject replaced. */
export function redactPayload(payload: string, scope: SubjectScope): string {
  const message = JSON.parse(payload) as JsonObject;
  anonymiseMessage(message);
  const values = scope.keys.flatMap((k) => {
    const id = parseIdentifierKey(k);
    return id === null || id.value.length < 3 ? [] : [id.value.toLowerCase()];
  });
  const scrub = (v: unknown): unknown => {
    if (typeof v === 'string') return values.some((x) => v.toLowerCase().includes(x)) ? REDACTED : v;
    if (Array.isArray(v)) return v.map(scrub);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrub(x)]));
    return v;
  };
  return JSON.stringify(scrub(message));
}

export type { PrivacyData };
