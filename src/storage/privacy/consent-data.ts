/**
 * Consent queries (stored consent per profile, subscriptions per contact point, the consent inbox and the
 * follower's cursors), written once for both backends; `PrivacyData` extends this with the rest of privacy.
 */
import type { ConsentState } from '../../core/consent/state.ts';
import type { Subscription } from '../../core/consent/subscriptions.ts';
import type { InboxRow } from './privacy-store.ts';
import type { Dialect, Queryable } from './sql-runner.ts';

/** Profiles per statement when many profiles' consent is written at once (3 parameters each). */
const CONSENT_ROWS = 200;

export class ConsentData {
  constructor(
    readonly q: Queryable,
    readonly d: Dialect,
  ) {}

  // ---- consent ----

  async consent(profileId: string): Promise<ConsentState | null> {
    const rows = await this.q.all<{ state: string }>('SELECT state FROM privacy_consents WHERE profile_id = $1', [profileId]);
    return rows[0] ? (JSON.parse(rows[0].state) as ConsentState) : null;
  }

  /** Stored consent of these profiles, by profile id (a profile with none is absent). */
  async consents(profileIds: readonly string[]): Promise<Map<string, ConsentState>> {
    if (profileIds.length === 0) return new Map();
    const rows = await this.q.all<{ profile_id: string; state: string }>(
      `SELECT profile_id, state FROM privacy_consents WHERE ${this.d.inList('profile_id', 1)}`,
      [[...profileIds]],
    );
    return new Map(rows.map((r) => [r.profile_id, JSON.parse(r.state) as ConsentState]));
  }

  /** Store many profiles' consent: one statement per `CONSENT_ROWS` profiles, not one each. */
  async putConsents(states: ReadonlyMap<string, ConsentState>, now: number): Promise<void> {
    const all = [...states];
    for (let i = 0; i < all.length; i += CONSENT_ROWS) {
      const chunk = all.slice(i, i + CONSENT_ROWS);
      await this.q.run(
        `INSERT INTO privacy_consents (profile_id, state, updated_at)
         VALUES ${chunk.map((_, j) => `($${3 * j + 1}, $${3 * j + 2}, $${3 * j + 3})`).join(', ')}
         ON CONFLICT (profile_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
        chunk.flatMap(([id, state]) => [id, JSON.stringify(state), now]),
      );
    }
  }

  async deleteConsents(profileIds: readonly string[]): Promise<void> {
    if (profileIds.length === 0) return;
    await this.q.run(`DELETE FROM privacy_consents WHERE ${this.d.inList('profile_id', 1)}`, [[...profileIds]]);
  }

  /** Stored consent of the profiles holding these identifier keys: identifier key → state. */
  async consentsOfIdentifiers(keys: readonly string[]): Promise<Map<string, ConsentState>> {
    if (keys.length === 0) return new Map();
    const rows = await this.q.all<{ key: string; state: string }>(
      `SELECT i.key, c.state FROM identities i JOIN privacy_consents c ON c.profile_id = i.profile_id WHERE ${this.d.inList('i.key', 1)}`,
      [[...keys]],
    );
    const parsed = new Map<string, ConsentState>();
    const out = new Map<string, ConsentState>();
    for (const r of rows) {
      // Several keys of one profile share one parsed state.
      let state = parsed.get(r.state);
      if (state === undefined) parsed.set(r.state, (state = JSON.parse(r.state) as ConsentState));
      out.set(r.key, state);
    }
    return out;
  }

  async putConsent(profileId: string, state: ConsentState, now: number): Promise<void> {
    await this.q.run(
      `INSERT INTO privacy_consents (profile_id, state, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (profile_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
      [profileId, JSON.stringify(state), now],
    );
  }

  async deleteConsent(profileId: string): Promise<void> {
    await this.q.run('DELETE FROM privacy_consents WHERE profile_id = $1', [profileId]);
  }

  // ---- subscriptions, keyed by contact point (`email:a@x.io`, `sms:+1555…`) ----

  async subscriptions(contactPoints: readonly string[]): Promise<Record<string, Subscription>> {
    if (contactPoints.length === 0) return {};
    const rows = await this.q.all<{ contact_point: string; state: string }>(
      `SELECT contact_point, state FROM privacy_subscriptions WHERE ${this.d.inList('contact_point', 1)}`,
      [[...contactPoints]],
    );
    return Object.fromEntries(rows.map((r) => [r.contact_point, JSON.parse(r.state) as Subscription]));
  }

  async putSubscription(contactPoint: string, state: Subscription, now: number): Promise<void> {
    await this.q.run(
      `INSERT INTO privacy_subscriptions (contact_point, state, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (contact_point) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
      [contactPoint, JSON.stringify(state), now],
    );
  }

  // ---- consent inbox ----

  /** Rows whose batch their processor has committed (its cursor is past `after_cursor`). */
  async inboxReady(limit: number): Promise<InboxRow[]> {
    const rows = await this.q.all<{
      id: number;
      identifiers: string;
      changes: string;
      fact_seq: number | string | null;
      profile_id: string | null;
    }>(
      `SELECT i.id, i.identifiers, i.changes, i.fact_seq, i.profile_id FROM privacy_consent_inbox i JOIN cursors c ON c.name = i.cursor_name
       WHERE i.after_cursor < c.seq ORDER BY i.id LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      identifiers: JSON.parse(r.identifiers) as string[],
      changes: r.changes,
      placement: r.fact_seq === null || r.profile_id === null ? null : { factSeq: Number(r.fact_seq), profileId: r.profile_id },
    }));
  }

  /** Whether the consent follower may have work: merge log entries after its cursor, or inbox rows. Cheap, no lock. */
  async followerPending(mergeCursor: number): Promise<boolean> {
    const rows = await this.q.all<{ n: number }>(
      `SELECT CASE WHEN EXISTS (SELECT 1 FROM merge_log WHERE id > $1) OR EXISTS (SELECT 1 FROM privacy_consent_inbox) THEN 1 ELSE 0 END AS n`,
      [mergeCursor],
    );
    return Number(rows[0]?.n ?? 0) === 1;
  }

  async inboxDelete(ids: readonly number[]): Promise<void> {
    if (ids.length > 0) await this.q.run(`DELETE FROM privacy_consent_inbox WHERE ${this.d.inIntList('id', 1)}`, [[...ids]]);
  }

  async cursor(name: string): Promise<number> {
    const rows = await this.q.all<{ seq: number }>('SELECT seq FROM privacy_cursors WHERE name = $1', [name]);
    return Number(rows[0]?.seq ?? 0);
  }

  async setCursor(name: string, seq: number): Promise<void> {
    await this.q.run('INSERT INTO privacy_cursors (name, seq) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq', [
      name,
      seq,
    ]);
  }
}
