/**
 * Profile bodies on PostgreSQL in one prepared statement: a lookup is one round trip and one backend,
 * where asking each store in turn took seven queries, six of them at once. On two cores those six woke
 * six backends together and the answer waited for the last; the statement's plan is also kept per
 * connection instead of made for every call. The statement reads the identity, segment and privacy
 * tables, so a change to one of them is a change here too: `test/storage/profile-bodies.test.ts`
 * compares it with `ComposedProfileBodies` on the same data.
 */
import type pg from 'pg';
import type { ConsentState } from '../../core/consent/state.ts';
import { CONTACT_CHANNELS, type Subscription } from '../../core/consent/subscriptions.ts';
import { toStoredProfiles, type IdentityRow, type ProfileRow } from '../identity-rows.ts';
import { CONSENT_CONFIG_SETTING } from '../privacy/privacy-data.ts';
import type { ProfileBodies, ProfileBody } from './profile-bodies.ts';

interface BodyRow extends ProfileRow {
  identity_rows: IdentityRow[];
  accounts: string[];
  segments: string[];
  computed: Record<string, unknown> | null;
  consent: string | null;
  subscriptions: Array<{ contact_point: string; state: Subscription }> | null;
  consent_config: string | null;
}

/** Our own constants written into the statement (a word each, checked), so `$1` is its only parameter. */
function word(s: string): string {
  if (!/^[a-z_.]+$/.test(s)) throw new Error(`not a plain word: ${s}`);
  return `'${s}'`;
}

/**
 * The contact point key of an identity row (`CONTACT_CHANNELS` as SQL). A constant in the text, not a
 * parameter: with array parameters PostgreSQL kept planning the statement anew at every call (~0.3 ms).
 */
const CONTACT_POINT = `CASE i.type ${Object.entries(CONTACT_CHANNELS)
  .map(([type, channel]) => `WHEN ${word(type)} THEN ${word(channel)}`)
  .join(' ')} END || ':' || i.value`;

/**
 * `$1`: identifier keys or profile ids (see `holding`/`byIds`). Its columns are named: a prepared statement
 * whose result columns change (a column added to `profiles` by a newer instance's migration) fails on the
 * connections that prepared it.
 */
const bodiesOf = (profileIds: string) => `
  WITH p AS (SELECT * FROM profiles WHERE id IN (${profileIds}))
  SELECT p.id, p.first_seen, p.merge_count, p.absorbed, p.traits, p.created_at, p.updated_at,
    coalesce((SELECT json_agg(i) FROM identities i WHERE i.profile_id = p.id), '[]'::json) AS identity_rows,
    ARRAY(SELECT DISTINCT m.account_id FROM account_members m
          WHERE m.profile_id = ANY (array_append(ARRAY(SELECT r.old_id FROM profile_redirects r WHERE r.profile_id = p.id), p.id))) AS accounts,
    ARRAY(SELECT m.segment_id FROM segment_memberships m JOIN segments s ON s.id = m.segment_id
          WHERE m.profile_id = p.id AND s.live_rule IS NOT NULL AND NOT s.deleted) AS segments,
    (SELECT json_object_agg(c.key, c.value::json) FROM computed_values c WHERE c.profile_id = p.id) AS computed,
    (SELECT c.state FROM privacy_consents c WHERE c.profile_id = p.id) AS consent,
    (SELECT json_agg(json_build_object('contact_point', s.contact_point, 'state', s.state::json)) FROM privacy_subscriptions s
      WHERE s.contact_point IN (SELECT ${CONTACT_POINT} FROM identities i
                                WHERE i.profile_id = p.id AND i.type IN (${Object.keys(CONTACT_CHANNELS).map(word).join(', ')}))) AS subscriptions,
    (SELECT value FROM settings WHERE key = ${word(CONSENT_CONFIG_SETTING)}) AS consent_config
  FROM p`;

/**
 * Each read in two forms: for one key or id (a lookup, a profile's page) with a scalar parameter, which
 * PostgreSQL plans once per connection and reuses; for several (a search page) with an array, which it
 * plans at every call, its generic plan being costed for an array of unknown length.
 */
const HOLDING = {
  one: bodiesOf('SELECT profile_id FROM identities WHERE key = $1'),
  many: bodiesOf('SELECT profile_id FROM identities WHERE key = ANY($1::text[])'),
};
const BY_IDS = {
  one: bodiesOf('SELECT coalesce((SELECT r.profile_id FROM profile_redirects r WHERE r.old_id = $1), $1)'),
  many: bodiesOf('SELECT coalesce(r.profile_id, v.id) FROM unnest($1::text[]) AS v(id) LEFT JOIN profile_redirects r ON r.old_id = v.id'),
};

const sorted = (xs: string[]) => xs.sort();

export class PostgresProfileBodies implements ProfileBodies {
  constructor(private readonly pool: Pick<pg.Pool, 'query'>) {}

  holding(keys: readonly string[]) {
    return this.read('tessera_profile_bodies_holding', HOLDING, keys);
  }

  byIds(ids: readonly string[]) {
    return this.read('tessera_profile_bodies_by_ids', BY_IDS, ids);
  }

  private async read(name: string, text: { one: string; many: string }, ids: readonly string[]) {
    if (ids.length === 0) return { bodies: [], consentConfig: null };
    // Named: each pooled connection prepares it once (and, for one id, keeps its plan).
    const query = ids.length === 1 ? { name: `${name}_one`, text: text.one, values: [ids[0]] } : { name, text: text.many, values: [ids] };
    const rows = (await this.pool.query<BodyRow>(query)).rows;
    rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const bodies = rows.map((r): ProfileBody => {
      const subscriptions = (r.subscriptions ?? []).sort((a, b) => (a.contact_point < b.contact_point ? -1 : 1));
      return {
        profile: toStoredProfiles([r], r.identity_rows)[0]!,
        accounts: sorted(r.accounts),
        segments: sorted(r.segments),
        computed: sortedKeys(r.computed ?? {}),
        consent: r.consent === null ? null : (JSON.parse(r.consent) as ConsentState),
        subscriptions: subscriptions.map((s) => s.state),
      };
    });
    return { bodies, consentConfig: rows[0]?.consent_config ?? null };
  }
}

/** The object with its keys in code-unit order, as the other stores answer it. */
function sortedKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );
}
