/**
 * Finding, exporting and erasing everything held about one subject, on both backends.
 *
 * The subject is one identifier. Its scope is the profile holding it, every identifier that profile
 * holds, and the identifiers that identity facts mentioning those link to (an identifier dropped by a
 * limit, or detached by an unmerge) — unless another live profile holds that identifier now: it then
 * belongs to someone else and is left alone (counted as `sharedIdentifiers`).
 */
import { factIdentifiers, type IdentityFact } from '../../core/identity/facts.ts';
import { identifierKey, parseIdentifierKey } from '../../core/identity/identifiers.ts';
import type { PrivacyData } from './privacy-data.ts';
import type { SqlRunner } from './sql-runner.ts';
import { quoteIdent } from './sql-runner.ts';

export interface SubjectScope {
  /** The identifier the request named (`type:value`). */
  start: string;
  /** The live profile holding it, if any. */
  profileId: string | null;
  /** Identifier keys of the subject. */
  keys: string[];
  /** The live profile id and every id merged into it. */
  profileIds: string[];
  /** Identifiers linked by facts but held by another live profile: not the subject's any more. */
  sharedKeys: string[];
}

/** A text to look for in raw payloads; `folded` compares lower-cased (e-mail addresses). */
interface Needle {
  text: string;
  folded: boolean;
}

const MAX_KEYS = 10_000;
const MAX_ROUNDS = 8;

export async function resolveSubject(tx: PrivacyData, start: string): Promise<SubjectScope> {
  const holding = await tx.profilesHolding([start]);
  const profileId = holding.get(start) ?? null;
  const keys = new Set([start]);
  if (profileId !== null) for (const k of await tx.identifierKeysOf(profileId)) keys.add(k);
  const shared = new Set<string>();
  let frontier = [...keys];
  for (let round = 0; round < MAX_ROUNDS && frontier.length > 0 && keys.size < MAX_KEYS; round++) {
    const found = new Set<string>();
    for (const fact of await factsMentioning(tx, frontier))
      for (const id of factIdentifiers(fact)) {
        const k = identifierKey(id);
        if (!keys.has(k) && !shared.has(k)) found.add(k);
      }
    const owners = await tx.profilesHolding([...found]);
    frontier = [];
    for (const k of found) {
      const owner = owners.get(k);
      if (owner !== undefined && owner !== profileId) shared.add(k);
      else {
        keys.add(k);
        frontier.push(k);
      }
    }
  }
  const profileIds = new Set<string>();
  if (profileId !== null) {
    profileIds.add(profileId);
    const rows = await tx.q.all<{ absorbed: string }>('SELECT absorbed FROM profiles WHERE id = $1', [profileId]);
    for (const id of JSON.parse(rows[0]?.absorbed ?? '[]') as string[]) profileIds.add(id);
    const redirected = await tx.q.all<{ old_id: string }>('SELECT old_id FROM profile_redirects WHERE profile_id = $1', [profileId]);
    for (const r of redirected) profileIds.add(r.old_id);
  }
  return { start, profileId, keys: [...keys].sort(), profileIds: [...profileIds].sort(), sharedKeys: [...shared].sort() };
}

async function factSeqs(tx: PrivacyData, keys: readonly string[]): Promise<number[]> {
  if (keys.length === 0) return [];
  const rows = await tx.q.all<{ seq: number }>(`SELECT DISTINCT seq FROM fact_keys WHERE ${tx.d.inList('key', 1)}`, [[...keys]]);
  return rows.map((r) => Number(r.seq));
}

export async function factsMentioning(tx: PrivacyData, keys: readonly string[]): Promise<IdentityFact[]> {
  const seqs = await factSeqs(tx, keys);
  if (seqs.length === 0) return [];
  const rows = await tx.q.all<{ body: string }>(`SELECT body FROM identity_facts WHERE ${tx.d.inIntList('seq', 1)} ORDER BY seq`, [seqs]);
  return rows.map((r) => JSON.parse(r.body) as IdentityFact);
}

/** The texts that betray the subject in a raw payload: quoted identifier values, bare e-mails and phones. */
export function needlesOf(scope: SubjectScope): Needle[] {
  const out = new Map<string, Needle>();
  for (const key of scope.keys) {
    const id = parseIdentifierKey(key);
    if (id === null || id.value === '') continue;
    if (id.type === 'email') out.set(`f:${id.value}`, { text: id.value.toLowerCase(), folded: true });
    else if (id.type === 'phone') out.set(`b:${id.value}`, { text: id.value, folded: false });
    // Plain ids only as whole JSON strings: a bare `42` would match unrelated payloads.
    out.set(`q:${id.value}`, { text: JSON.stringify(id.value), folded: false });
  }
  return [...out.values()];
}

const valuesOfType = (scope: SubjectScope, type: string): string[] =>
  scope.keys.map((k) => parseIdentifierKey(k)).flatMap((id) => (id !== null && id.type === type ? [id.value] : []));

/** `ident` in the subject's keys, or userId / anonymousId equal to one of theirs. */
function eventsCondition(tx: PrivacyData): string {
  return `(${tx.d.inList('ident', 1)} OR ${tx.d.inList('user_id', 2)} OR ${tx.d.inList('anonymous_id', 3)})`;
}

function eventsParams(scope: SubjectScope): unknown[] {
  return [scope.keys, valuesOfType(scope, 'user_id'), valuesOfType(scope, 'anonymous_id')];
}

/** Identity warnings are attributed by the event that caused them (`source_id`, `message_id`), often without a profile. */
async function warningsOfEvents(tx: PrivacyData, scope: SubjectScope): Promise<number[]> {
  const refs = await tx.q.all<{ source_id: string; message_id: string }>(
    `SELECT source_id, message_id FROM events WHERE ${eventsCondition(tx)}`,
    eventsParams(scope),
  );
  if (refs.length === 0) return [];
  const mine = new Set(refs.map((r) => `${r.source_id}\u0000${r.message_id}`));
  const rows = await tx.q.all<{ id: number; source_id: string | null; message_id: string }>(
    `SELECT id, source_id, message_id FROM identity_warnings WHERE ${tx.d.inList('message_id', 1)}`,
    [[...new Set(refs.map((r) => r.message_id))]],
  );
  return rows.filter((r) => mine.has(`${r.source_id ?? ''}\u0000${r.message_id}`)).map((r) => Number(r.id));
}

async function deleteMatching(tx: PrivacyData, table: string, column: string, needles: readonly Needle[]): Promise<number> {
  let n = 0;
  for (const needle of needles) {
    const hay = needle.folded ? `lower(${column})` : column;
    n += await tx.q.run(`DELETE FROM ${quoteIdent(table)} WHERE ${tx.d.contains(hay, 1)}`, [needle.text]);
  }
  return n;
}

/**
 * The segment domain's tables that name profiles (memberships, audience events, computed values,
 * timers), found by name prefix and a `profile_id` column, so this works whether or not they exist.
 */
const SEGMENT_TABLE_PREFIXES = ['segment', 'audience', 'computed'] as const;

async function segmentTables(runner: SqlRunner): Promise<string[]> {
  const found = await Promise.all(SEGMENT_TABLE_PREFIXES.map((p) => runner.tablesWithColumn(p, 'profile_id')));
  return [...new Set(found.flat())].sort();
}

// ---------------------------------------------------------------------------------------------- export

export interface SubjectData {
  events: Array<Record<string, unknown>>;
  failedEvents: Array<Record<string, unknown>>;
  identityFacts: IdentityFact[];
  identityWarnings: Array<Record<string, unknown>>;
  mergeHistory: Array<Record<string, unknown>>;
  accountMemberships: Array<{ accountId: string; since: number }>;
  segmentMemberships: Record<string, Array<Record<string, unknown>>>;
}

/** Everything the core tables hold about the subject, with other people's identifiers and ids left out. */
export async function readSubjectData(tx: PrivacyData, runner: SqlRunner, scope: SubjectScope): Promise<SubjectData> {
  const mine = new Set(scope.keys);
  const myProfiles = new Set(scope.profileIds);
  const events = await tx.q.all<Record<string, unknown>>(
    `SELECT seq, source_id, message_id, type, name, ts, received_at, payload, restricted FROM events WHERE ${eventsCondition(tx)} ORDER BY seq`,
    eventsParams(scope),
  );
  const failed: Array<Record<string, unknown>> = [];
  const seenFailed = new Set<number>();
  for (const needle of needlesOf(scope)) {
    const hay = needle.folded ? 'lower(payload)' : 'payload';
    for (const r of await tx.q.all<Record<string, unknown>>(
      `SELECT id, source_id, received_at, reason, detail, message_id, payload FROM failed_events WHERE ${tx.d.contains(hay, 1)} ORDER BY id`,
      [needle.text],
    )) {
      if (seenFailed.has(Number(r.id))) continue;
      seenFailed.add(Number(r.id));
      failed.push(r);
    }
  }
  // Facts keep only the subject's own identifiers: a fact may also name someone else's.
  const facts = (await factsMentioning(tx, scope.keys)).map((f) => redactFact(f, mine));
  const warnings = await tx.q.all<Record<string, unknown>>(
    `SELECT id, at, code, detail, identifier, profile_id, source_id, message_id FROM identity_warnings
     WHERE ${tx.d.inList('identifier', 1)} OR ${tx.d.inList('profile_id', 2)} OR ${tx.d.inIntList('id', 3)} ORDER BY id`,
    [scope.keys, scope.profileIds, await warningsOfEvents(tx, scope)],
  );
  const merges = await tx.q.all<{
    id: number;
    at: number;
    kind: string;
    profile_id: string;
    other_ids: string;
    reason: string;
    actor: string;
  }>(
    `SELECT id, at, kind, profile_id, other_ids, reason, actor FROM merge_log
     WHERE ${tx.d.inList('profile_id', 1)} OR id IN (SELECT log_id FROM merge_log_others WHERE ${tx.d.inList('other_id', 1)}) ORDER BY id`,
    [scope.profileIds],
  );
  const other = (id: string) => (myProfiles.has(id) ? id : 'another-profile');
  const members = await tx.q.all<{ account_id: string; since: number }>(
    `SELECT account_id, min(since) AS since FROM account_members WHERE ${tx.d.inList('profile_id', 1)} GROUP BY account_id ORDER BY account_id`,
    [scope.profileIds],
  );
  const segments: Record<string, Array<Record<string, unknown>>> = {};
  for (const table of await segmentTables(runner)) {
    const rows = await tx.q.all<Record<string, unknown>>(`SELECT * FROM ${quoteIdent(table)} WHERE ${tx.d.inList('profile_id', 1)}`, [
      scope.profileIds,
    ]);
    if (rows.length > 0) segments[table] = rows;
  }
  return {
    events: events.map((e) => ({ ...e, payload: JSON.parse(String(e.payload)) as unknown })),
    failedEvents: failed,
    identityFacts: facts,
    identityWarnings: warnings,
    mergeHistory: merges.map((m) => ({
      id: Number(m.id),
      at: Number(m.at),
      kind: m.kind,
      profileId: other(m.profile_id),
      otherIds: (JSON.parse(m.other_ids) as string[]).map(other),
      reason: m.reason,
      actor: m.actor,
    })),
    accountMemberships: members.map((m) => ({ accountId: m.account_id, since: Number(m.since) })),
    segmentMemberships: segments,
  };
}

function redactFact(fact: IdentityFact, mine: ReadonlySet<string>): IdentityFact {
  const keep = (id: { type: string; value: string }) => mine.has(identifierKey(id));
  const hidden = { type: 'other', value: 'another-person' };
  switch (fact.kind) {
    case 'link':
      return { ...fact, identifiers: fact.identifiers.filter(keep) };
    case 'merge':
      return {
        ...fact,
        anchorA: keep(fact.anchorA) ? fact.anchorA : hidden,
        anchorB: keep(fact.anchorB) ? fact.anchorB : hidden,
        profileA: 'redacted',
        profileB: 'redacted',
      };
    case 'unmerge':
      return fact;
  }
}

// ---------------------------------------------------------------------------------------------- erasure

export type ErasureMode = 'delete' | 'delete_events' | 'redact';

/**
 * Erase the subject inside one exclusive transaction. `delete` removes the profile, its identity and
 * its events; `delete_events` only the events (and failed events); `redact` removes the profile like
 * `delete` but keeps the events for aggregates, de-identified by `redactPayload`.
 */
export async function eraseSubject(
  tx: PrivacyData,
  runner: SqlRunner,
  scope: SubjectScope,
  mode: ErasureMode,
  redactPayload: (payload: string) => string,
): Promise<Record<string, number>> {
  const n: Record<string, number> = {};
  const needles = needlesOf(scope);
  // Before the events go: warnings are found through the events that caused them.
  const eventWarnings = await warningsOfEvents(tx, scope);
  n.identityWarnings =
    eventWarnings.length > 0 ? await tx.q.run(`DELETE FROM identity_warnings WHERE ${tx.d.inIntList('id', 1)}`, [eventWarnings]) : 0;
  if (mode === 'redact') {
    const rows = await tx.q.all<{ seq: number; payload: string }>(
      `SELECT seq, payload FROM events WHERE ${eventsCondition(tx)} ORDER BY seq`,
      eventsParams(scope),
    );
    for (const r of rows)
      await tx.q.run('UPDATE events SET payload = $1, user_id = NULL, anonymous_id = NULL, ident = NULL WHERE seq = $2', [
        redactPayload(r.payload),
        r.seq,
      ]);
    n.eventsRedacted = rows.length;
  } else {
    n.events = await tx.q.run(`DELETE FROM events WHERE ${eventsCondition(tx)}`, eventsParams(scope));
  }
  n.failedEvents = await deleteMatching(tx, 'failed_events', 'payload', needles);
  if (mode === 'delete_events') return n;

  const ids = scope.profileIds;
  const seqs = await factSeqs(tx, scope.keys);
  n.identityFacts = seqs.length > 0 ? await tx.q.run(`DELETE FROM identity_facts WHERE ${tx.d.inIntList('seq', 1)}`, [seqs]) : 0;
  n.factKeys = seqs.length > 0 ? await tx.q.run(`DELETE FROM fact_keys WHERE ${tx.d.inIntList('seq', 1)}`, [seqs]) : 0;
  n.identities = await tx.q.run(`DELETE FROM identities WHERE ${tx.d.inList('profile_id', 1)} OR ${tx.d.inList('key', 2)}`, [
    ids,
    scope.keys,
  ]);
  n.profiles = await tx.q.run(`DELETE FROM profiles WHERE ${tx.d.inList('id', 1)}`, [ids]);
  n.profileRedirects = await tx.q.run(
    `DELETE FROM profile_redirects WHERE ${tx.d.inList('old_id', 1)} OR ${tx.d.inList('profile_id', 1)}`,
    [ids],
  );
  n.identityWarnings +=
    (await tx.q.run(`DELETE FROM identity_warnings WHERE ${tx.d.inList('identifier', 1)} OR ${tx.d.inList('profile_id', 2)}`, [
      scope.keys,
      ids,
    ])) + (await deleteMatching(tx, 'identity_warnings', 'detail', needles));
  Object.assign(n, await eraseMergeLog(tx, ids));
  n.accountMemberships = await tx.q.run(`DELETE FROM account_members WHERE ${tx.d.inList('profile_id', 1)}`, [ids]);
  n.commandResults =
    (await deleteMatching(
      tx,
      'command_results',
      'result',
      ids.map((id) => ({ text: id, folded: false })),
    )) + (await deleteMatching(tx, 'command_results', 'result', needles));
  let examples = 0;
  for (const needle of needles) {
    const hay = needle.folded ? 'lower(example)' : 'example';
    examples += await tx.q.run(`UPDATE trait_catalogue SET example = NULL WHERE example IS NOT NULL AND ${tx.d.contains(hay, 1)}`, [
      needle.text,
    ]);
  }
  n.traitExamples = examples;
  n.consents = await tx.q.run(`DELETE FROM privacy_consents WHERE ${tx.d.inList('profile_id', 1)}`, [ids]);
  const contactPoints = [...valuesOfType(scope, 'email').map((v) => `email:${v}`), ...valuesOfType(scope, 'phone').map((v) => `sms:${v}`)];
  n.subscriptions = await tx.q.run(`DELETE FROM privacy_subscriptions WHERE ${tx.d.inList('contact_point', 1)}`, [contactPoints]);
  n.consentInbox =
    (await deleteMatching(
      tx,
      'privacy_consent_inbox',
      'identifiers',
      scope.keys.map((k) => ({ text: JSON.stringify(k), folded: false })),
    )) + (await tx.q.run(`DELETE FROM privacy_consent_inbox WHERE ${tx.d.inList('profile_id', 1)}`, [ids]));
  let segmentRows = 0;
  for (const table of await segmentTables(runner))
    segmentRows += await tx.q.run(`DELETE FROM ${quoteIdent(table)} WHERE ${tx.d.inList('profile_id', 1)}`, [ids]);
  n.segmentRows = segmentRows;
  return n;
}

/** Merge log rows naming only the subject are deleted; rows naming others too keep their history with the subject's ids replaced. */
async function eraseMergeLog(tx: PrivacyData, ids: readonly string[]): Promise<Record<string, number>> {
  const mine = new Set(ids);
  const rows = await tx.q.all<{ id: number; profile_id: string; other_ids: string }>(
    `SELECT id, profile_id, other_ids FROM merge_log
     WHERE ${tx.d.inList('profile_id', 1)} OR id IN (SELECT log_id FROM merge_log_others WHERE ${tx.d.inList('other_id', 1)})`,
    [[...ids]],
  );
  let deleted = 0;
  let rewritten = 0;
  for (const r of rows) {
    const others = JSON.parse(r.other_ids) as string[];
    if (mine.has(r.profile_id) && others.every((o) => mine.has(o))) {
      await tx.q.run('DELETE FROM merge_log WHERE id = $1', [r.id]);
      await tx.q.run('DELETE FROM merge_log_others WHERE log_id = $1', [r.id]);
      deleted++;
    } else {
      const erase = (id: string) => (mine.has(id) ? 'erased' : id);
      await tx.q.run('UPDATE merge_log SET profile_id = $1, other_ids = $2 WHERE id = $3', [
        erase(r.profile_id),
        JSON.stringify(others.map(erase)),
        r.id,
      ]);
      await tx.q.run(`DELETE FROM merge_log_others WHERE log_id = $1 AND ${tx.d.inList('other_id', 2)}`, [r.id, [...ids]]);
      rewritten++;
    }
  }
  return { mergeLogDeleted: deleted, mergeLogRewritten: rewritten };
}

/** The tables an erasure may touch (for PostgreSQL VACUUM). */
export const ERASURE_TABLES = [
  'events',
  'failed_events',
  'identity_facts',
  'fact_keys',
  'identities',
  'profiles',
  'profile_redirects',
  'identity_warnings',
  'merge_log',
  'merge_log_others',
  'account_members',
  'command_results',
  'trait_catalogue',
  'privacy_consents',
  'privacy_subscriptions',
  'privacy_consent_inbox',
  'privacy_requests',
  'privacy_exports',
] as const;

export { segmentTables };
