/**
 * The privacy tables, tracked in their own `privacy_schema_migrations` table so this domain migrates
 * independently of the core store. Both dialects have the same tables and columns.
 *
 * What holds personal data (and is reached by erasure): consents (by profile id), subscriptions (keyed
 * by the contact point itself), the consent inbox (identifier keys), requests (the subject until the
 * request finishes, then its keyed hash), exports. Suppressions and audit entries hold no identifier
 * values: suppressions are HMAC keys, the audit log names subjects by the same keyed hash.
 */
export interface PrivacyMigration {
  id: number;
  name: string;
  sqlite: string;
  postgres: string;
}

const common = (int: string, serial: string) => `
  CREATE TABLE privacy_consents (profile_id TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at ${int} NOT NULL);
  CREATE TABLE privacy_subscriptions (contact_point TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at ${int} NOT NULL);
  -- Consent carried by events, written by the collection gate before its batch commits, applied to the
  -- profile by the consent follower once that processor's cursor (cursor_name) has passed after_cursor.
  CREATE TABLE privacy_consent_inbox (
    id ${serial},
    dedup_key TEXT NOT NULL UNIQUE,
    cursor_name TEXT NOT NULL,
    after_cursor ${int} NOT NULL,
    identifiers TEXT NOT NULL,
    changes TEXT NOT NULL,
    created_at ${int} NOT NULL
  );
  CREATE INDEX privacy_inbox_by_cursor ON privacy_consent_inbox (after_cursor, id);
  CREATE TABLE privacy_policies (source_id TEXT PRIMARY KEY, policy TEXT NOT NULL, updated_at ${int} NOT NULL, updated_by TEXT NOT NULL);
  CREATE TABLE privacy_suppressions (
    key TEXT NOT NULL,
    request_id TEXT NOT NULL,
    temporary ${int} NOT NULL,
    created_at ${int} NOT NULL,
    PRIMARY KEY (key, request_id)
  );
  CREATE INDEX privacy_suppressions_by_request ON privacy_suppressions (request_id);
  CREATE TABLE privacy_requests (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_value TEXT,
    subject_key TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at ${int} NOT NULL,
    updated_at ${int} NOT NULL
  );
  CREATE INDEX privacy_requests_by_status ON privacy_requests (status, received_at);
  CREATE INDEX privacy_requests_by_subject ON privacy_requests (subject_key);
  CREATE TABLE privacy_exports (request_id TEXT PRIMARY KEY, body TEXT NOT NULL, created_at ${int} NOT NULL, expires_at ${int} NOT NULL);
  -- Append-only: nothing updates or deletes a row. No identifier value is ever written to it.
  CREATE TABLE privacy_audit (
    id ${serial},
    at ${int} NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
  );
  CREATE INDEX privacy_audit_by_action ON privacy_audit (action, id);
  CREATE TABLE privacy_retention (
    source_id TEXT NOT NULL,
    event_name TEXT NOT NULL,
    days ${int} NOT NULL,
    PRIMARY KEY (source_id, event_name)
  );
  CREATE TABLE privacy_cursors (name TEXT PRIMARY KEY, seq ${int} NOT NULL);
`;

const logKeys = (int: string) => `
  CREATE TABLE privacy_log_keys (
    log_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at ${int} NOT NULL,
    retired INTEGER NOT NULL DEFAULT 0,
    sealed_seq ${int},
    PRIMARY KEY (log_id, key_id)
  )
`;

export const PRIVACY_MIGRATIONS: readonly PrivacyMigration[] = [
  {
    id: 1,
    name: 'consent and privacy',
    sqlite: common('INTEGER', 'INTEGER PRIMARY KEY'),
    postgres: common('BIGINT', 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY'),
  },
  {
    // Where the processor resolved each carried choice: the fact seq of its event and the profile it
    // resolved to, so the consent follower applies choices and merges in the order they happened.
    id: 2,
    name: 'consent inbox placement',
    sqlite: 'ALTER TABLE privacy_consent_inbox ADD COLUMN fact_seq INTEGER; ALTER TABLE privacy_consent_inbox ADD COLUMN profile_id TEXT',
    postgres: 'ALTER TABLE privacy_consent_inbox ADD COLUMN fact_seq BIGINT; ALTER TABLE privacy_consent_inbox ADD COLUMN profile_id TEXT',
  },
  {
    // The keys that encrypt the entries of a durable log on NATS JetStream (crypto-shredding: a key is
    // deleted once every entry it encrypted is processed). `sealed_seq`: the stream's last entry once
    // the key could no longer be used; the key goes when the processor's purge passes it.
    id: 3,
    name: 'log keys',
    sqlite: logKeys('INTEGER'),
    postgres: logKeys('BIGINT'),
  },
];
