/**
 * Identity, profile and account tables on PostgreSQL. Every function takes the client (a transaction's
 * or the pool) so the processor's reads and writes run inside its transaction. Lists travel as arrays
 * (`= ANY($1)`, `unnest`): one round trip per table whatever the batch size.
 */
import type pg from 'pg';
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
import { insertRows, withValues } from './pg-values.ts';

type Db = Pick<pg.PoolClient, 'query'>;

/**
 * Profiles with their identity rows in one round trip: `ids` is a subquery selecting profile ids (over
 * `$1`), so callers resolve identifiers or redirects in the same statement.
 */
async function loadProfilesWhere(db: Db, idsSql: string, params: unknown[]): Promise<StoredProfile[]> {
  const rows = (
    await db.query<ProfileRow & { identity_rows: IdentityRow[] }>(
      `SELECT p.*, coalesce((SELECT json_agg(i) FROM identities i WHERE i.profile_id = p.id), '[]'::json) AS identity_rows
       FROM profiles p WHERE p.id IN (${idsSql}) ORDER BY p.id`,
      params,
    )
  ).rows;
  return toStoredProfiles(
    rows,
    rows.flatMap((r) => r.identity_rows),
  );
}

export async function profilesHolding(db: Db, keys: readonly string[]): Promise<StoredProfile[]> {
  if (keys.length === 0) return [];
  return loadProfilesWhere(db, 'SELECT profile_id FROM identities WHERE key = ANY($1::text[])', [keys]);
}

export async function profilesById(db: Db, ids: readonly string[]): Promise<StoredProfile[]> {
  if (ids.length === 0) return [];
  return loadProfilesWhere(
    db,
    'SELECT coalesce(r.profile_id, v.id) FROM unnest($1::text[]) AS v(id) LEFT JOIN profile_redirects r ON r.old_id = v.id',
    [ids],
  );
}

export async function factsMentioning(db: Db, keys: readonly string[]): Promise<IdentityFact[]> {
  if (keys.length === 0) return [];
  const rows = await db.query<{ body: string }>(
    'SELECT body FROM identity_facts WHERE seq IN (SELECT seq FROM fact_keys WHERE key = ANY($1::text[])) ORDER BY seq',
    [keys],
  );
  return rows.rows.map((r) => JSON.parse(r.body) as IdentityFact);
}

export async function allFacts(db: Db): Promise<IdentityFact[]> {
  return (await db.query<{ body: string }>('SELECT body FROM identity_facts ORDER BY at, seq')).rows.map(
    (r) => JSON.parse(r.body) as IdentityFact,
  );
}

export async function identifyEventsOf(db: Db, keys: readonly string[]): Promise<TraitSourceEvent[]> {
  if (keys.length === 0) return [];
  const rows = await db.query<TraitSourceEvent>(
    `SELECT payload, ts AS "timestamp", source_id AS "sourceId", message_id AS "messageId"
     FROM events WHERE ident = ANY($1::text[]) AND type = 'identify' ORDER BY seq`,
    [keys],
  );
  return rows.rows;
}

export async function accounts(db: Db, ids: readonly string[]): Promise<StoredAccount[]> {
  if (ids.length === 0) return [];
  return (await db.query<AccountRow>('SELECT * FROM accounts WHERE id = ANY($1::text[])', [ids])).rows.map(toAccount);
}

export async function catalogueNames(db: Db): Promise<Set<string>> {
  return new Set((await db.query<{ name: string }>('SELECT name FROM trait_catalogue')).rows.map((r) => r.name));
}

export async function clearProfiles(db: Db): Promise<void> {
  await db.query('DELETE FROM profiles; DELETE FROM identities; DELETE FROM profile_redirects;');
}

/** Apply an identity write, one statement per table and kind of change. */
export async function writeIdentity(db: Db, w: IdentityWrite): Promise<void> {
  if (w.redirects.length > 0) {
    const from = w.redirects.map((r) => r.from);
    const to = w.redirects.map((r) => r.to);
    await db.query(
      `UPDATE profile_redirects p SET profile_id = v.to_id FROM unnest($1::text[], $2::text[]) AS v(from_id, to_id) WHERE p.profile_id = v.from_id`,
      [from, to],
    );
    await db.query(
      `INSERT INTO profile_redirects (old_id, profile_id) SELECT * FROM unnest($1::text[], $2::text[])
       ON CONFLICT (old_id) DO UPDATE SET profile_id = excluded.profile_id`,
      [from, to],
    );
  }
  if (w.deletedProfiles.length > 0) {
    const ids = w.deletedProfiles;
    await db.query('DELETE FROM profiles WHERE id = ANY($1::text[])', [ids]);
    await db.query('DELETE FROM identities WHERE profile_id = ANY($1::text[])', [ids]);
    await db.query('DELETE FROM profile_redirects WHERE profile_id = ANY($1::text[])', [ids]);
  }
  if (w.profiles.length > 0) {
    const p = w.profiles;
    const ids = p.map((x) => x.snapshot.id);
    await db.query('DELETE FROM profile_redirects WHERE old_id = ANY($1::text[])', [ids]);
    await insertRows(
      db,
      'INSERT INTO profiles (id, first_seen, merge_count, absorbed, traits, created_at, updated_at)',
      p.map((x) => [
        x.snapshot.id,
        x.snapshot.firstSeen,
        x.snapshot.mergeCount,
        JSON.stringify(x.snapshot.absorbed),
        JSON.stringify(x.traits),
        x.createdAt,
        x.updatedAt,
      ]),
      `ON CONFLICT (id) DO UPDATE SET first_seen = excluded.first_seen, merge_count = excluded.merge_count,
         absorbed = excluded.absorbed, traits = excluded.traits, updated_at = excluded.updated_at`,
    );
    const created = new Set(w.created);
    const replaced = ids.filter((id) => !created.has(id));
    if (replaced.length > 0) await db.query('DELETE FROM identities WHERE profile_id = ANY($1::text[])', [replaced]);
    const rows = p.flatMap(identityRowsOf);
    await db.query(
      `INSERT INTO identities (key, type, value, profile_id, first_seen, fact_seq, event_message_id, source_id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::text[])
       ON CONFLICT (key) DO UPDATE SET profile_id = excluded.profile_id, first_seen = excluded.first_seen,
         fact_seq = excluded.fact_seq, event_message_id = excluded.event_message_id, source_id = excluded.source_id`,
      [
        rows.map((r) => r.key),
        rows.map((r) => r.type),
        rows.map((r) => r.value),
        rows.map((r) => r.profile_id),
        rows.map((r) => r.first_seen),
        rows.map((r) => r.fact_seq),
        rows.map((r) => r.event_message_id),
        rows.map((r) => r.source_id),
      ],
    );
  }
  if (w.traitOnly.length > 0) {
    await withValues(
      db,
      w.traitOnly.map((x) => [x.snapshot.id, JSON.stringify(x.traits), x.updatedAt]),
      (values) => `UPDATE profiles p SET traits = v.traits, updated_at = v.updated_at
       FROM (VALUES ${values}) AS v(id, traits, updated_at) WHERE p.id = v.id`,
      ['text', 'text', 'bigint'],
    );
  }
  if (w.facts.length > 0) {
    await insertRows(
      db,
      'INSERT INTO identity_facts (seq, kind, at, body)',
      w.facts.map((f) => [f.seq, f.kind, f.at, JSON.stringify(f)]),
      'ON CONFLICT (seq) DO NOTHING',
    );
    const keys = w.facts.flatMap((f) => factKeys(f).map((key) => [key, f.seq] as const));
    await db.query(`INSERT INTO fact_keys (key, seq) SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING`, [
      keys.map((k) => k[0]),
      keys.map((k) => k[1]),
    ]);
  }
  for (const m of w.mergeLog) {
    const id = (
      await db.query<{ id: number }>(
        'INSERT INTO merge_log (at, kind, profile_id, other_ids, reason, fact_seq, actor) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
        [m.at, m.kind, m.profileId, JSON.stringify(m.otherIds), m.reason, m.factSeq, m.actor],
      )
    ).rows[0]!.id;
    await db.query('INSERT INTO merge_log_others (other_id, log_id) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING', [
      m.otherIds,
      id,
    ]);
  }
  if (w.warnings.length > 0) {
    const x = w.warnings;
    await db.query(
      `INSERT INTO identity_warnings (at, code, detail, identifier, profile_id, source_id, message_id)
       SELECT at, code, detail, identifier, profile_id, source_id, message_id
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
         WITH ORDINALITY AS t(at, code, detail, identifier, profile_id, source_id, message_id, ord) ORDER BY ord`,
      [
        x.map((r) => r.at),
        x.map((r) => r.code),
        x.map((r) => r.detail),
        x.map((r) => r.identifier),
        x.map((r) => r.profileId),
        x.map((r) => r.sourceId),
        x.map((r) => r.messageId),
      ],
    );
  }
  if (w.accounts.length > 0) {
    const a = w.accounts;
    await db.query(
      `INSERT INTO accounts (id, traits, created_at, updated_at) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
       ON CONFLICT (id) DO UPDATE SET traits = excluded.traits, updated_at = excluded.updated_at`,
      [a.map((r) => r.id), a.map((r) => JSON.stringify(r.traits)), a.map((r) => r.createdAt), a.map((r) => r.updatedAt)],
    );
  }
  if (w.members.length > 0) {
    const m = w.members;
    await db.query(
      `INSERT INTO account_members (account_id, profile_id, since)
       SELECT account_id, profile_id, min(since) FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(account_id, profile_id, since)
       GROUP BY 1, 2
       ON CONFLICT (account_id, profile_id) DO UPDATE SET since = least(account_members.since, excluded.since)`,
      [m.map((r) => r.accountId), m.map((r) => r.profileId), m.map((r) => r.since)],
    );
  }
  if (w.catalogue.length > 0) {
    const c = w.catalogue;
    await db.query(
      `INSERT INTO trait_catalogue (name, type, example, category, pii, first_seen, last_seen)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::bigint[], $7::bigint[])
       ON CONFLICT (name) DO UPDATE SET last_seen = greatest(trait_catalogue.last_seen, excluded.last_seen)`,
      [
        c.map((r) => r.name),
        c.map((r) => r.type),
        c.map((r) => r.example),
        c.map((r) => r.category),
        c.map((r) => r.pii),
        c.map((r) => r.firstSeen),
        c.map((r) => r.lastSeen),
      ],
    );
  }
}

// ---- reads for the API ----

export async function searchProfileIds(db: Db, q: ProfileSearch): Promise<string[]> {
  const after = q.afterId ?? '';
  let ids: string[];
  if (q.identifierPrefix !== undefined) {
    const rows = await db.query<{ profile_id: string }>(
      `SELECT DISTINCT profile_id FROM identities WHERE key LIKE $1 || '%' AND profile_id > $2 ORDER BY profile_id LIMIT $3`,
      [q.identifierPrefix.replace(/[\\%_]/g, (c) => '\\' + c), after, q.limit],
    );
    ids = rows.rows.map((r) => r.profile_id);
  } else if (q.trait !== undefined) {
    const rows = await db.query<{ id: string }>(
      `SELECT id FROM profiles WHERE id > $1 AND (traits::jsonb -> $2 -> 'value') = $3::jsonb ORDER BY id LIMIT $4`,
      [after, q.trait.path, JSON.stringify(q.trait.value), q.limit],
    );
    ids = rows.rows.map((r) => r.id);
  } else {
    ids = (await db.query<{ id: string }>('SELECT id FROM profiles WHERE id > $1 ORDER BY id LIMIT $2', [after, q.limit])).rows.map(
      (r) => r.id,
    );
  }
  return ids;
}

export async function countProfiles(db: Db): Promise<number> {
  return (await db.query<{ n: number }>('SELECT count(*) AS n FROM profiles')).rows[0]!.n;
}

export async function mergeLog(db: Db, profileIds: readonly string[], limit: number): Promise<StoredMergeLogEntry[]> {
  const rows = await db.query<MergeLogRow>(
    `SELECT * FROM merge_log WHERE profile_id = ANY($1::text[])
       OR id IN (SELECT log_id FROM merge_log_others WHERE other_id = ANY($1::text[]))
     ORDER BY id DESC LIMIT $2`,
    [profileIds, limit],
  );
  return rows.rows.map(toMergeLogEntry);
}

export async function listWarnings(db: Db, f: { profileId?: string; beforeId?: number; limit: number }): Promise<StoredIdentityWarning[]> {
  const rows = await db.query<WarningRow>(
    `SELECT * FROM identity_warnings WHERE ($1::text IS NULL OR profile_id = $1) AND id < $2 ORDER BY id DESC LIMIT $3`,
    [f.profileId ?? null, f.beforeId ?? Number.MAX_SAFE_INTEGER, f.limit],
  );
  return rows.rows.map(toWarning);
}

export async function accountMembers(
  db: Db,
  accountId: string,
  o: { afterProfileId?: string; limit: number },
): Promise<Array<{ profileId: string; since: number }>> {
  const rows = await db.query<{ profile_id: string; since: number }>(
    `SELECT coalesce(r.profile_id, m.profile_id) AS profile_id, min(m.since) AS since
     FROM account_members m LEFT JOIN profile_redirects r ON r.old_id = m.profile_id
     WHERE m.account_id = $1 GROUP BY 1 HAVING coalesce(r.profile_id, m.profile_id) > $2 ORDER BY 1 LIMIT $3`,
    [accountId, o.afterProfileId ?? '', o.limit],
  );
  return rows.rows.map((r) => ({ profileId: r.profile_id, since: r.since }));
}

export async function accountsOf(db: Db, profileId: string): Promise<string[]> {
  const rows = await db.query<{ account_id: string }>(
    `SELECT DISTINCT account_id FROM account_members
     WHERE profile_id = $1 OR profile_id IN (SELECT old_id FROM profile_redirects WHERE profile_id = $1) ORDER BY 1`,
    [profileId],
  );
  return rows.rows.map((r) => r.account_id);
}

export async function listCatalogue(db: Db): Promise<TraitCatalogueEntry[]> {
  return (await db.query<CatalogueRow>('SELECT * FROM trait_catalogue ORDER BY name')).rows.map(toCatalogueEntry);
}

export async function updateCatalogue(
  db: Db,
  name: string,
  patch: Partial<Pick<TraitCatalogueEntry, 'category' | 'pii'>>,
): Promise<TraitCatalogueEntry | null> {
  const row = (await db.query<CatalogueRow>('SELECT * FROM trait_catalogue WHERE name = $1', [name])).rows[0];
  if (!row) return null;
  const next = { ...toCatalogueEntry(row), ...patch, edited: true };
  await db.query('UPDATE trait_catalogue SET category = $1, pii = $2, edited = TRUE WHERE name = $3', [next.category, next.pii, name]);
  return next;
}
