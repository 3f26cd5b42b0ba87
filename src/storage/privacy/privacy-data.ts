/**
 * Privacy queries, written once for both backends (see `sql-runner.ts`). An instance wraps either the
 * runner itself (autocommit) or an open transaction. Consent, subscriptions and the consent inbox are in
 * `consent-data.ts`, which this extends.
 */
import type { CollectionPolicy } from '../../core/privacy/collection-policy.ts';
import { ConsentData } from './consent-data.ts';
import type { AuditEntry, MergeLogRecord, RetentionRule, StoredAuditEntry, StoredPrivacyRequest } from './privacy-store.ts';

/** Settings key of the privacy configuration version: bumped on every change the collection gate must see. */
export const PRIVACY_VERSION_SETTING = 'privacy.version';
/** Settings key of the consent configuration (purposes, category aliases); unset means the defaults. */
export const CONSENT_CONFIG_SETTING = 'privacy.consent_config';

interface RequestRow {
  id: string;
  subject_value: string | null;
  subject_key: string;
  body: string;
}

export class PrivacyData extends ConsentData {
  // ---- settings (the core `settings` table, `privacy.` keys) ----

  async setting(key: string): Promise<string | null> {
    const rows = await this.q.all<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key]);
    return rows[0]?.value ?? null;
  }

  async putSetting(key: string, value: string): Promise<void> {
    await this.q.run('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [
      key,
      value,
    ]);
  }

  /** Insert only when absent; answers the value in force (so concurrent first starts agree). */
  async settingOnce(key: string, value: string): Promise<string> {
    await this.q.run('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]);
    return (await this.setting(key)) ?? value;
  }

  async version(): Promise<number> {
    return Number((await this.setting(PRIVACY_VERSION_SETTING)) ?? '0');
  }

  /** Tell collection gates to reload policies, suppressions and the consent config. */
  async bumpVersion(): Promise<number> {
    const next = (await this.version()) + 1;
    await this.putSetting(PRIVACY_VERSION_SETTING, String(next));
    return next;
  }

  // ---- identity (read only: the processor is the only writer) ----

  /** The live profile id for an id, following a merged-away id's redirect; null when there is none. */
  async liveProfileId(id: string): Promise<string | null> {
    const rows = await this.q.all<{ id: string }>(
      `SELECT id FROM profiles WHERE id = coalesce((SELECT profile_id FROM profile_redirects WHERE old_id = $1), $1)`,
      [id],
    );
    return rows[0]?.id ?? null;
  }

  /** Identifier key → the profile holding it. */
  async profilesHolding(keys: readonly string[]): Promise<Map<string, string>> {
    if (keys.length === 0) return new Map();
    const rows = await this.q.all<{ key: string; profile_id: string }>(
      `SELECT key, profile_id FROM identities WHERE ${this.d.inList('key', 1)}`,
      [[...keys]],
    );
    return new Map(rows.map((r) => [r.key, r.profile_id]));
  }

  async identifierKeysOf(profileId: string): Promise<string[]> {
    const rows = await this.q.all<{ key: string }>('SELECT key FROM identities WHERE profile_id = $1 ORDER BY key', [profileId]);
    return rows.map((r) => r.key);
  }

  async mergeLogAfter(id: number, limit: number): Promise<MergeLogRecord[]> {
    const rows = await this.q.all<{
      id: number;
      at: number;
      kind: string;
      profile_id: string;
      other_ids: string;
      reason: string;
      actor: string;
      fact_seq: number | string;
    }>('SELECT id, at, kind, profile_id, other_ids, reason, actor, fact_seq FROM merge_log WHERE id > $1 ORDER BY id LIMIT $2', [
      id,
      limit,
    ]);
    return rows.map((r) => ({
      id: Number(r.id),
      at: Number(r.at),
      kind: r.kind,
      profileId: r.profile_id,
      otherIds: JSON.parse(r.other_ids) as string[],
      reason: r.reason,
      actor: r.actor,
      factSeq: Number(r.fact_seq),
    }));
  }

  // ---- collection policies ----

  async policies(): Promise<Map<string, CollectionPolicy>> {
    const rows = await this.q.all<{ source_id: string; policy: string }>('SELECT source_id, policy FROM privacy_policies');
    return new Map(rows.map((r) => [r.source_id, JSON.parse(r.policy) as CollectionPolicy]));
  }

  async putPolicy(sourceId: string, policy: CollectionPolicy, actor: string, now: number): Promise<void> {
    await this.q.run(
      `INSERT INTO privacy_policies (source_id, policy, updated_at, updated_by) VALUES ($1, $2, $3, $4)
       ON CONFLICT (source_id) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      [sourceId, JSON.stringify(policy), now, actor],
    );
  }

  async deletePolicy(sourceId: string): Promise<boolean> {
    return (await this.q.run('DELETE FROM privacy_policies WHERE source_id = $1', [sourceId])) > 0;
  }

  // ---- suppression keys (HMAC of standardised identifier keys) ----

  async suppressionKeys(): Promise<string[]> {
    return (await this.q.all<{ key: string }>('SELECT DISTINCT key FROM privacy_suppressions')).map((r) => r.key);
  }

  async addSuppressions(keys: readonly string[], requestId: string, temporary: boolean, now: number): Promise<void> {
    for (const key of new Set(keys))
      await this.q.run(
        `INSERT INTO privacy_suppressions (key, request_id, temporary, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (key, request_id) DO NOTHING`,
        [key, requestId, temporary ? 1 : 0, now],
      );
  }

  /** The requests whose suppression includes any of these keys. */
  async suppressingRequests(keys: readonly string[]): Promise<string[]> {
    if (keys.length === 0) return [];
    const rows = await this.q.all<{ request_id: string }>(
      `SELECT DISTINCT request_id FROM privacy_suppressions WHERE ${this.d.inList('key', 1)} ORDER BY 1`,
      [[...keys]],
    );
    return rows.map((r) => r.request_id);
  }

  async removeSuppressions(requestIds: readonly string[]): Promise<number> {
    if (requestIds.length === 0) return 0;
    return this.q.run(`DELETE FROM privacy_suppressions WHERE ${this.d.inList('request_id', 1)}`, [[...requestIds]]);
  }

  // ---- privacy requests and exports ----

  async putRequest(r: StoredPrivacyRequest, now: number): Promise<void> {
    const { subject, subjectKey, ...rest } = r;
    await this.q.run(
      `INSERT INTO privacy_requests (id, type, subject_type, subject_value, subject_key, status, body, received_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, body = excluded.body, updated_at = excluded.updated_at`,
      [r.id, r.type, subject.type, subject.value, subjectKey, r.status, JSON.stringify(rest), r.receivedAt, now],
    );
  }

  async request(id: string): Promise<StoredPrivacyRequest | null> {
    const rows = await this.q.all<RequestRow & { subject_type: string }>(
      'SELECT id, subject_type, subject_value, subject_key, body FROM privacy_requests WHERE id = $1',
      [id],
    );
    return rows[0] ? toRequest(rows[0]) : null;
  }

  async requests(filter: { status?: string; beforeReceivedAt?: number; limit: number }): Promise<StoredPrivacyRequest[]> {
    const rows = await this.q.all<RequestRow & { subject_type: string }>(
      `SELECT id, subject_type, subject_value, subject_key, body FROM privacy_requests
       WHERE ($1 = '' OR status = $1) AND received_at < $2 ORDER BY received_at DESC, id DESC LIMIT $3`,
      [filter.status ?? '', filter.beforeReceivedAt ?? Number.MAX_SAFE_INTEGER, filter.limit],
    );
    return rows.map(toRequest);
  }

  /** Claim a request for running (multi-instance safe): true when this caller moved it to running. */
  async claimRequest(r: StoredPrivacyRequest, expectedStatus: string, now: number): Promise<boolean> {
    const { subject: _s, subjectKey: _k, ...rest } = r;
    const changed = await this.q.run('UPDATE privacy_requests SET status = $1, body = $2, updated_at = $3 WHERE id = $4 AND status = $5', [
      r.status,
      JSON.stringify(rest),
      now,
      r.id,
      expectedStatus,
    ]);
    return changed === 1;
  }

  /** Replace the subject's value by its keyed hash on every request about it (after an erasure). */
  async redactRequestSubjects(subjectKeys: readonly string[]): Promise<number> {
    if (subjectKeys.length === 0) return 0;
    return this.q.run(`UPDATE privacy_requests SET subject_value = NULL WHERE ${this.d.inList('subject_key', 1)}`, [[...subjectKeys]]);
  }

  async putExport(requestId: string, body: string, now: number, expiresAt: number): Promise<void> {
    await this.q.run(
      `INSERT INTO privacy_exports (request_id, body, created_at, expires_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (request_id) DO UPDATE SET body = excluded.body, created_at = excluded.created_at, expires_at = excluded.expires_at`,
      [requestId, body, now, expiresAt],
    );
  }

  async export(requestId: string): Promise<string | null> {
    const rows = await this.q.all<{ body: string }>('SELECT body FROM privacy_exports WHERE request_id = $1', [requestId]);
    return rows[0]?.body ?? null;
  }

  async deleteExportsOf(subjectKeys: readonly string[]): Promise<number> {
    if (subjectKeys.length === 0) return 0;
    return this.q.run(
      `DELETE FROM privacy_exports WHERE request_id IN (SELECT id FROM privacy_requests WHERE ${this.d.inList('subject_key', 1)})`,
      [[...subjectKeys]],
    );
  }

  async deleteExpiredExports(now: number): Promise<number> {
    return this.q.run('DELETE FROM privacy_exports WHERE expires_at <= $1', [now]);
  }

  // ---- audit log (append-only) ----

  async audit(entry: AuditEntry): Promise<void> {
    await this.q.run('INSERT INTO privacy_audit (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)', [
      entry.at,
      entry.actor,
      entry.action,
      entry.target,
      JSON.stringify(entry.detail),
    ]);
  }

  async auditEntries(filter: { action?: string; target?: string; beforeId?: number; limit: number }): Promise<StoredAuditEntry[]> {
    const rows = await this.q.all<{ id: number; at: number; actor: string; action: string; target: string; detail: string }>(
      `SELECT id, at, actor, action, target, detail FROM privacy_audit
       WHERE id < $1 AND ($2 = '' OR action = $2 OR substr(action, 1, length($2) + 1) = $2 || '.') AND ($3 = '' OR target = $3)
       ORDER BY id DESC LIMIT $4`,
      [filter.beforeId ?? Number.MAX_SAFE_INTEGER, filter.action ?? '', filter.target ?? '', filter.limit],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      at: Number(r.at),
      actor: r.actor,
      action: r.action,
      target: r.target,
      detail: JSON.parse(r.detail) as Record<string, unknown>,
    }));
  }

  // ---- retention ----

  async retentionRules(): Promise<RetentionRule[]> {
    const rows = await this.q.all<{ source_id: string; event_name: string; days: number }>(
      'SELECT source_id, event_name, days FROM privacy_retention ORDER BY source_id, event_name',
    );
    return rows.map((r) => ({ sourceId: r.source_id, eventName: r.event_name, days: Number(r.days) }));
  }

  async replaceRetentionRules(rules: readonly RetentionRule[]): Promise<void> {
    await this.q.run('DELETE FROM privacy_retention');
    for (const r of rules)
      await this.q.run('INSERT INTO privacy_retention (source_id, event_name, days) VALUES ($1, $2, $3)', [
        r.sourceId,
        r.eventName,
        r.days,
      ]);
  }

  /** Delete at most `limit` events matching a rule and older (event time) than `cutoff`; answers how many. */
  async deleteOldEvents(rule: RetentionRule, cutoff: number, limit: number): Promise<number> {
    return this.q.run(
      `DELETE FROM events WHERE seq IN (
         SELECT seq FROM events WHERE ts < $1 AND ($2 = '*' OR source_id = $2) AND ($3 = '*' OR name = $3) ORDER BY seq LIMIT $4)`,
      [cutoff, rule.sourceId, rule.eventName, limit],
    );
  }
}

function toRequest(row: RequestRow & { subject_type: string }): StoredPrivacyRequest {
  const rest = JSON.parse(row.body) as Omit<StoredPrivacyRequest, 'subject' | 'subjectKey'>;
  return {
    ...rest,
    id: row.id,
    subject: { type: row.subject_type, value: row.subject_value ?? `[erased:${row.subject_key.slice(0, 16)}]` },
    subjectKey: row.subject_key,
  };
}
