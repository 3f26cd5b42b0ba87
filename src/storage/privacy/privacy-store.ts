/**
 * The privacy storage port: consent, subscriptions, collection policies, suppression keys, privacy
 * requests and exports, the audit log, retention rules, and the erasure and export of a subject.
 * One SQL implementation (`privacy-data.ts`, `privacy-erasure.ts`) runs on both backends through a
 * `SqlRunner`; `open-privacy-store.ts` is the one place that picks the runner.
 */
import type { ConsentState } from '../../core/consent/state.ts';
import type { Subscription } from '../../core/consent/subscriptions.ts';
import type { CollectionPolicy } from '../../core/privacy/collection-policy.ts';
import type { PrivacyRequest } from '../../core/privacy/requests.ts';
import type { PrivacyData } from './privacy-data.ts';
import type { SqlRunner, TxLock } from './sql-runner.ts';

/** One audit entry. `target` names what was acted on: a profile id, a source id, a request id, a subject hash. */
export interface AuditEntry {
  at: number;
  actor: string;
  action: string;
  target: string;
  detail: Record<string, unknown>;
}

export interface StoredAuditEntry extends AuditEntry {
  id: number;
}

/** A consent change read from an event, waiting for the processor to resolve its identifiers. */
export interface InboxRow {
  id: number;
  identifiers: string[];
  changes: string;
  /** Where identity placed the row's event (`ConsentInboxEntry.placement`); null for an event it never saw. */
  placement: { factSeq: number; profileId: string } | null;
}

export interface RetentionRule {
  /** A source id, or `*` for every source. */
  sourceId: string;
  /** An event name (track event, page or screen name), or `*` for every event. */
  eventName: string;
  days: number;
}

export interface MergeLogRecord {
  id: number;
  at: number;
  kind: string;
  profileId: string;
  otherIds: string[];
  reason: string;
  actor: string;
  /** The identity fact it came from: facts are numbered in the order identity applied them. */
  factSeq: number;
}

/** A stored request: the core record plus the subject's keyed hash (kept after the value is erased). */
export interface StoredPrivacyRequest extends PrivacyRequest {
  subjectKey: string;
}

export type { ConsentState, Subscription, CollectionPolicy };

export interface PrivacyStore {
  readonly backend: 'sqlite' | 'postgres';
  readonly runner: SqlRunner;
  /** Create or update the privacy tables (tracked in `privacy_schema_migrations`). Idempotent. */
  migrate(): Promise<void>;
  /** Reads and single writes outside a transaction. */
  readonly data: PrivacyData;
  /** Run `work` in one transaction holding `lock` (see `TxLock`). */
  transaction<T>(lock: TxLock, work: (tx: PrivacyData) => Promise<T>): Promise<T>;
}
