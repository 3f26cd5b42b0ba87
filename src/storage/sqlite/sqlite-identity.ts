/**
 * Identity, profile and account tables on SQLite. Synchronous like better-sqlite3 itself; the store
 * wraps these calls in its async port. Lists of keys travel as one JSON array parameter (`json_each`),
 * so every statement stays parameterised whatever the list's length.
 */
import type Database from 'better-sqlite3';
import type { IdentityFact } from '../../core/identity/facts.ts';
import type {
  IdentityWrite,
  TraitSourceEvent,
  StoredAccount,
  StoredIdentityWarning,
  StoredMergeLogEntry,
  StoredProfile,
  TraitCatalogueEntry,
} from '../identity-records.ts';
import {
  factKeys,
  identityRowsOf,
  toAccount,
  toCatalogueEntry,
  toMergeLogEntry,
  toStoredProfiles,
  toWarning,
  type AccountRow,
  type CatalogueRow,
  type IdentityRow,
  type MergeLogRow,
  type ProfileRow,
  type WarningRow,
} from '../identity-rows.ts';
import type { ProfileSearch } from '../store.ts';

const IN_LIST = '(SELECT value FROM json_each(?))';

export class SqliteIdentityTables {
  private statements: ReturnType<SqliteIdentityTables['prepare']> | undefined;

  constructor(private readonly db: Database.Database) {}

  private prepare() {
    const db = this.db;
    return {
      upsertProfile: db.prepare(
        `INSERT INTO profiles (id, first_seen, merge_count, absorbed, traits, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET first_seen = excluded.first_seen, merge_count = excluded.merge_count,
           absorbed = excluded.absorbed, traits = excluded.traits, updated_at = excluded.updated_at`,
      ),
      updateTraits: db.prepare('UPDATE profiles SET traits = ?, updated_at = ? WHERE id = ?'),
      // The processor's reads, once per batch.
      profilesIn: db.prepare(`SELECT * FROM profiles WHERE id IN ${IN_LIST} ORDER BY id`),
      identitiesOf: db.prepare(`SELECT * FROM identities WHERE profile_id IN ${IN_LIST}`),
      holders: db.prepare(`SELECT DISTINCT profile_id FROM identities WHERE key IN ${IN_LIST}`).pluck(),
      accountsIn: db.prepare(`SELECT * FROM accounts WHERE id IN ${IN_LIST}`),
      deleteIdentitiesOf: db.prepare('DELETE FROM identities WHERE profile_id = ?'),
      upsertIdentity: db.prepare(
        `INSERT INTO identities (key, type, value, profile_id, first_seen, fact_seq, event_message_id, source_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET profile_id = excluded.profile_id, first_seen = excluded.first_seen,
           fact_seq = excluded.fact_seq, event_message_id = excluded.event_message_id, source_id = excluded.source_id`,
      ),
      dropRedirectFrom: db.prepare('DELETE FROM profile_redirects WHERE old_id = ?'),
      dropRedirectsTo: db.prepare('DELETE FROM profile_redirects WHERE profile_id = ?'),
      repointRedirects: db.prepare('UPDATE profile_redirects SET profile_id = ? WHERE profile_id = ?'),
      putRedirect: db.prepare('INSERT OR REPLACE INTO profile_redirects (old_id, profile_id) VALUES (?, ?)'),
      deleteProfile: db.prepare('DELETE FROM profiles WHERE id = ?'),
      insertFact: db.prepare('INSERT OR IGNORE INTO identity_facts (seq, kind, at, body) VALUES (?, ?, ?, ?)'),
      insertFactKey: db.prepare('INSERT OR IGNORE INTO fact_keys (key, seq) VALUES (?, ?)'),
      insertMerge: db.prepare(
        'INSERT INTO merge_log (at, kind, profile_id, other_ids, reason, fact_seq, actor) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      insertMergeOther: db.prepare('INSERT OR IGNORE INTO merge_log_others (other_id, log_id) VALUES (?, ?)'),
      insertWarning: db.prepare(
        'INSERT INTO identity_warnings (at, code, detail, identifier, profile_id, source_id, message_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      upsertAccount: db.prepare(
        `INSERT INTO accounts (id, traits, created_at, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET traits = excluded.traits, updated_at = excluded.updated_at`,
      ),
      upsertMember: db.prepare(
        `INSERT INTO account_members (account_id, profile_id, since) VALUES (?, ?, ?)
         ON CONFLICT (account_id, profile_id) DO UPDATE SET since = min(since, excluded.since)`,
      ),
      upsertCatalogue: db.prepare(
        `INSERT INTO trait_catalogue (name, type, example, category, pii, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)`,
      ),
    };
  }

  private get s() {
    this.statements ??= this.prepare();
    return this.statements;
  }

  private loadProfiles(ids: readonly string[]): StoredProfile[] {
    if (ids.length === 0) return [];
    const json = JSON.stringify(ids);
    const rows = this.s.profilesIn.all(json) as ProfileRow[];
    const identities = this.s.identitiesOf.all(json) as IdentityRow[];
    return toStoredProfiles(rows, identities);
  }

  profilesHolding(keys: readonly string[]): StoredProfile[] {
    if (keys.length === 0) return [];
    const ids = this.s.holders.all(JSON.stringify(keys)) as string[];
    return this.loadProfiles(ids);
  }

  profilesById(ids: readonly string[]): StoredProfile[] {
    if (ids.length === 0) return [];
    const live = this.db
      .prepare(`SELECT DISTINCT coalesce(r.profile_id, v.value) FROM json_each(?) v LEFT JOIN profile_redirects r ON r.old_id = v.value`)
      .pluck()
      .all(JSON.stringify(ids)) as string[];
    return this.loadProfiles(live);
  }

  factsMentioning(keys: readonly string[]): IdentityFact[] {
    if (keys.length === 0) return [];
    const bodies = this.db
      .prepare(`SELECT body FROM identity_facts WHERE seq IN (SELECT seq FROM fact_keys WHERE key IN ${IN_LIST}) ORDER BY seq`)
      .pluck()
      .all(JSON.stringify(keys)) as string[];
    return bodies.map((b) => JSON.parse(b) as IdentityFact);
  }

  allFacts(): IdentityFact[] {
    const bodies = this.db.prepare('SELECT body FROM identity_facts ORDER BY at, seq').pluck().all() as string[];
    return bodies.map((b) => JSON.parse(b) as IdentityFact);
  }

  identifyEventsOf(keys: readonly string[]): TraitSourceEvent[] {
    if (keys.length === 0) return [];
    return this.db
      .prepare(
        `SELECT payload, ts AS timestamp, source_id AS sourceId, message_id AS messageId
         FROM events WHERE ident IN ${IN_LIST} AND type = 'identify' ORDER BY seq`,
      )
      .all(JSON.stringify(keys)) as TraitSourceEvent[];
  }

  accounts(ids: readonly string[]): StoredAccount[] {
    if (ids.length === 0) return [];
    return (this.s.accountsIn.all(JSON.stringify(ids)) as AccountRow[]).map(toAccount);
  }

  catalogueNames(): Set<string> {
    return new Set(this.db.prepare('SELECT name FROM trait_catalogue').pluck().all() as string[]);
  }

  clearProfiles(): void {
    this.db.exec('DELETE FROM profiles; DELETE FROM identities; DELETE FROM profile_redirects;');
  }

  write(w: IdentityWrite): void {
    const s = this.s;
    for (const r of w.redirects) {
      s.repointRedirects.run(r.to, r.from);
      s.putRedirect.run(r.from, r.to);
    }
    for (const id of w.deletedProfiles) {
      s.deleteProfile.run(id);
      s.deleteIdentitiesOf.run(id);
      s.dropRedirectsTo.run(id);
    }
    const created = new Set(w.created);
    for (const p of w.profiles) {
      const snap = p.snapshot;
      s.dropRedirectFrom.run(snap.id);
      s.upsertProfile.run(
        snap.id,
        snap.firstSeen,
        snap.mergeCount,
        JSON.stringify(snap.absorbed),
        JSON.stringify(p.traits),
        p.createdAt,
        p.updatedAt,
      );
      if (!created.has(snap.id)) s.deleteIdentitiesOf.run(snap.id);
      for (const r of identityRowsOf(p))
        s.upsertIdentity.run(r.key, r.type, r.value, r.profile_id, r.first_seen, r.fact_seq, r.event_message_id, r.source_id);
    }
    for (const p of w.traitOnly) s.updateTraits.run(JSON.stringify(p.traits), p.updatedAt, p.snapshot.id);
    for (const f of w.facts) {
      s.insertFact.run(f.seq, f.kind, f.at, JSON.stringify(f));
      for (const key of factKeys(f)) s.insertFactKey.run(key, f.seq);
    }
    for (const m of w.mergeLog) {
      const id = s.insertMerge.run(m.at, m.kind, m.profileId, JSON.stringify(m.otherIds), m.reason, m.factSeq, m.actor).lastInsertRowid;
      for (const other of m.otherIds) s.insertMergeOther.run(other, id);
    }
    for (const x of w.warnings) s.insertWarning.run(x.at, x.code, x.detail, x.identifier, x.profileId, x.sourceId, x.messageId);
    for (const a of w.accounts) s.upsertAccount.run(a.id, JSON.stringify(a.traits), a.createdAt, a.updatedAt);
    for (const m of w.members) s.upsertMember.run(m.accountId, m.profileId, m.since);
    for (const c of w.catalogue) s.upsertCatalogue.run(c.name, c.type, c.example, c.category, c.pii ? 1 : 0, c.firstSeen, c.lastSeen);
  }

  // ---- reads for the API ----

  getProfile(id: string): StoredProfile | null {
    return this.profilesById([id])[0] ?? null;
  }

  searchProfileIds(q: ProfileSearch): string[] {
    const after = q.afterId ?? '';
    let ids: string[];
    if (q.identifierPrefix !== undefined) {
      // A range on the primary key: `prefix` ≤ key < `prefix` + U+FFFF.
      ids = this.db
        .prepare(`SELECT DISTINCT profile_id FROM identities WHERE key >= ? AND key < ? AND profile_id > ? ORDER BY profile_id LIMIT ?`)
        .pluck()
        .all(q.identifierPrefix, q.identifierPrefix + '\uffff', after, q.limit) as string[];
    } else if (q.trait !== undefined) {
      const path = '$.' + JSON.stringify(q.trait.path) + '.value';
      const value = typeof q.trait.value === 'boolean' ? (q.trait.value ? 1 : 0) : q.trait.value;
      ids = this.db
        .prepare(`SELECT id FROM profiles WHERE id > ? AND json_extract(traits, ?) = ? ORDER BY id LIMIT ?`)
        .pluck()
        .all(after, path, value, q.limit) as string[];
    } else {
      ids = this.db.prepare('SELECT id FROM profiles WHERE id > ? ORDER BY id LIMIT ?').pluck().all(after, q.limit) as string[];
    }
    return ids;
  }

  countProfiles(): number {
    return this.db.prepare('SELECT count(*) FROM profiles').pluck().get() as number;
  }

  mergeLog(profileIds: readonly string[], limit: number): StoredMergeLogEntry[] {
    const json = JSON.stringify(profileIds);
    const rows = this.db
      .prepare(
        `SELECT * FROM merge_log WHERE profile_id IN ${IN_LIST}
           OR id IN (SELECT log_id FROM merge_log_others WHERE other_id IN ${IN_LIST})
         ORDER BY id DESC LIMIT ?`,
      )
      .all(json, json, limit) as MergeLogRow[];
    return rows.map(toMergeLogEntry);
  }

  listWarnings(f: { profileId?: string; beforeId?: number; limit: number }): StoredIdentityWarning[] {
    const rows = this.db
      .prepare(`SELECT * FROM identity_warnings WHERE (? IS NULL OR profile_id = ?) AND id < ? ORDER BY id DESC LIMIT ?`)
      .all(f.profileId ?? null, f.profileId ?? null, f.beforeId ?? Number.MAX_SAFE_INTEGER, f.limit) as WarningRow[];
    return rows.map(toWarning);
  }

  getAccount(id: string): StoredAccount | null {
    return this.accounts([id])[0] ?? null;
  }

  accountMembers(accountId: string, o: { afterProfileId?: string; limit: number }): Array<{ profileId: string; since: number }> {
    // Members are stored under the profile id of the time; redirects give today's profile.
    return this.db
      .prepare(
        `SELECT coalesce(r.profile_id, m.profile_id) AS profileId, min(m.since) AS since
         FROM account_members m LEFT JOIN profile_redirects r ON r.old_id = m.profile_id
         WHERE m.account_id = ? GROUP BY 1 HAVING profileId > ? ORDER BY 1 LIMIT ?`,
      )
      .all(accountId, o.afterProfileId ?? '', o.limit) as Array<{ profileId: string; since: number }>;
  }

  accountsOf(profileId: string): string[] {
    return this.db
      .prepare(
        `SELECT DISTINCT account_id FROM account_members
         WHERE profile_id = ? OR profile_id IN (SELECT old_id FROM profile_redirects WHERE profile_id = ?) ORDER BY 1`,
      )
      .pluck()
      .all(profileId, profileId) as string[];
  }

  listCatalogue(): TraitCatalogueEntry[] {
    return (this.db.prepare('SELECT * FROM trait_catalogue ORDER BY name').all() as CatalogueRow[]).map(toCatalogueEntry);
  }

  updateCatalogue(name: string, patch: Partial<Pick<TraitCatalogueEntry, 'category' | 'pii'>>): TraitCatalogueEntry | null {
    const row = this.db.prepare('SELECT * FROM trait_catalogue WHERE name = ?').get(name) as CatalogueRow | undefined;
    if (!row) return null;
    const next = { ...toCatalogueEntry(row), ...patch, edited: true };
    this.db
      .prepare('UPDATE trait_catalogue SET category = ?, pii = ?, edited = 1 WHERE name = ?')
      .run(next.category, next.pii ? 1 : 0, name);
    return next;
  }
}
