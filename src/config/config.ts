/**
 * Configuration, parsed once at start from the environment and CLI flags.
 *
 * Every setting has one name in the environment (`TESSERA_*`, `PORT`, `HOST`) and is validated here;
 * an invalid value fails at start with a message that names the setting. Nothing else in the code
 * reads `process.env`.
 */
import { isSupportedCountry, type CountryCode } from 'libphonenumber-js';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from './config-error.ts';

export type StorageBackend = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

/** Where the durable log lives: a SQLite file in the data directory, or a NATS JetStream stream. */
export type LogBackend =
  | { kind: 'sqlite'; file: string }
  | {
      kind: 'nats';
      /** Server addresses (host:port), from `nats://a:4222,b:4222`. */
      servers: string[];
      /** The stream's name; its one subject is `tessera.log.<stream>`. */
      stream: string;
      /** The stream's size cap: appends past it are refused with 503 + Retry-After (back-pressure across edges). */
      maxBytes: number;
      /** Copies of each entry kept by a NATS cluster (1 on a single server). */
      replicas: number;
      /**
       * How long an edge encrypts entries with one key before it takes a new one (ms). Keys live in the store
       * and are deleted once every entry they encrypted is processed: what JetStream keeps on disk after a
       * purge can no longer be read (`log/nats/log-keyring.ts`).
       */
      keyRotateMs: number;
      /** Credentials, when the server asks for them (a user and password, or a token). Never logged. */
      auth: { user: string; pass: string } | { token: string } | null;
      /** TLS to the server (`tls://` or a CA file given): the CA that signed its certificate, and a client certificate if it asks for one. */
      tls: { caFile?: string; certFile?: string; keyFile?: string } | null;
    };

export interface Limits {
  /** Largest request body accepted, in bytes, as it arrives on the wire (compressed). */
  maxRequestBytes: number;
  /** Largest body after gunzip; protects against gzip bombs. */
  maxInflatedBytes: number;
  /** Largest single message, in bytes of JSON. */
  maxMessageBytes: number;
  /** Most messages in one batch request. */
  maxBatchMessages: number;
  /** Deepest nesting of objects/arrays inside one message. */
  maxDepth: number;
  /** Largest import file (CSV) accepted by the admin API. */
  maxImportBytes: number;
}

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  storage: StorageBackend;
  /** The durable log the edge appends to and the processor reads. */
  log: LogBackend;
  /** Admin bearer token from the environment, when given; otherwise one is generated on first start. */
  adminToken: string | undefined;
  limits: Limits;
  /** How long (de-duplication window) a (source, messageId) pair is remembered. */
  dedupWindowMs: number;
  /** Unprocessed events in the durable log past which ingestion answers 503 + Retry-After. */
  maxBacklogEvents: number;
  /** Log level for pino. */
  logLevel: string;
  /** Where the processor runs: its own thread (`worker`), the main event loop (`inline`), or nowhere (`off`). */
  processor: 'worker' | 'inline' | 'off';
  /** Seconds a browser may cache a CORS preflight. */
  corsMaxAgeSeconds: number;
  /** Graceful shutdown: longest wait for in-flight work. */
  shutdownGraceMs: number;
  /** Region assumed for phone numbers written without a country code (ISO 3166 alpha-2). */
  phoneRegion: CountryCode;
  /** Key of privacy HMACs (suppression keys, hashed fields, unsubscribe links); generated and stored when unset. Never logged. */
  installationSecret: string | undefined;
  /** Shared secret of the inbound-SMS webhook (HTTP Basic password); the webhook refuses every call when unset. */
  smsWebhookSecret: string | undefined;
  /** Brand and help contact in the automatic STOP/START/HELP replies. */
  smsBrand: string;
  smsHelpContact: string;
  /** How often the privacy jobs (retention, export expiry) run. */
  privacyJobIntervalMs: number;
}

type Env = Record<string, string | undefined>;

export interface Flags {
  port?: string | number;
  host?: string;
  dataDir?: string;
  databaseUrl?: string;
}

function intSetting(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function parsePort(name: string, raw: string | number | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError(name, `must be a port number from 0 to 65535, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function parseStorage(url: string | undefined, dataDir: string): StorageBackend {
  if (url === undefined || url === '') return { kind: 'sqlite', file: path.join(dataDir, 'tessera.sqlite') };
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new ConfigError('TESSERA_DATABASE_URL', 'is not a valid URL');
    }
    return { kind: 'postgres', url };
  }
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file === '') throw new ConfigError('TESSERA_DATABASE_URL', 'sqlite: needs a file path, e.g. sqlite:./data/tessera.sqlite');
    return { kind: 'sqlite', file };
  }
  throw new ConfigError(
    'TESSERA_DATABASE_URL',
    'must start with postgres:// (PostgreSQL) or sqlite: (embedded); leave it unset for the embedded default',
  );
}

function parseLog(env: Env, dataDir: string): LogBackend {
  const url = env.TESSERA_LOG_URL;
  if (url === undefined || url === '') return { kind: 'sqlite', file: path.join(dataDir, 'log.sqlite') };
  const scheme = /^(nats|tls):\/\//.exec(url)?.[1];
  if (scheme === undefined) {
    throw new ConfigError(
      'TESSERA_LOG_URL',
      'must start with nats:// or tls:// (NATS JetStream, tls:// to require TLS); leave it unset for the embedded log',
    );
  }
  const servers = url
    .slice(`${scheme}://`.length)
    .split(',')
    .map((s) => s.trim());
  if (servers.some((s) => !/^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$/.test(s))) {
    throw new ConfigError(
      'TESSERA_LOG_URL',
      'must list host:port pairs, e.g. nats://127.0.0.1:4222 or nats://a:4222,b:4222 (credentials go in TESSERA_NATS_USER/TESSERA_NATS_PASSWORD or TESSERA_NATS_TOKEN)',
    );
  }
  const user = env.TESSERA_NATS_USER || undefined;
  const pass = secretSetting(env, 'TESSERA_NATS_PASSWORD', 1);
  const token = secretSetting(env, 'TESSERA_NATS_TOKEN', 1);
  if ((user === undefined) !== (pass === undefined)) {
    throw new ConfigError(user === undefined ? 'TESSERA_NATS_USER' : 'TESSERA_NATS_PASSWORD', 'a NATS user and password go together');
  }
  if (token !== undefined && user !== undefined)
    throw new ConfigError('TESSERA_NATS_TOKEN', 'give a NATS token or a user and password, not both');
  const stream = env.TESSERA_NATS_STREAM || 'TESSERA';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(stream)) {
    throw new ConfigError('TESSERA_NATS_STREAM', 'must be 1 to 64 letters, digits, _ or -');
  }
  return {
    kind: 'nats',
    servers,
    stream,
    maxBytes: intSetting(env, 'TESSERA_NATS_MAX_MB', 1024, 1, 1024 * 1024) * 1024 * 1024,
    replicas: intSetting(env, 'TESSERA_NATS_REPLICAS', 1, 1, 5),
    keyRotateMs: intSetting(env, 'TESSERA_NATS_KEY_SECONDS', 60, 1, 3600) * 1000,
    auth: user !== undefined && pass !== undefined ? { user, pass } : token !== undefined ? { token } : null,
    tls: parseNatsTls(env, scheme === 'tls'),
  };
}

/** A file the setting names must exist (checked at start, so a typo does not surface as a TLS error later). */
function fileSetting(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!fs.existsSync(raw)) throw new ConfigError(name, `names a file that does not exist: ${raw}`);
  return path.resolve(raw);
}

function parseNatsTls(env: Env, required: boolean): { caFile?: string; certFile?: string; keyFile?: string } | null {
  const caFile = fileSetting(env, 'TESSERA_NATS_TLS_CA');
  const certFile = fileSetting(env, 'TESSERA_NATS_TLS_CERT');
  const keyFile = fileSetting(env, 'TESSERA_NATS_TLS_KEY');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError(
      certFile === undefined ? 'TESSERA_NATS_TLS_CERT' : 'TESSERA_NATS_TLS_KEY',
      'a client certificate and its key go together',
    );
  }
  if (!required && caFile === undefined && certFile === undefined) return null;
  return { ...(caFile ? { caFile } : {}), ...(certFile ? { certFile, keyFile } : {}) };
}

function parseRegion(raw: string | undefined): CountryCode {
  if (raw === undefined || raw === '') return 'US';
  if (!isSupportedCountry(raw)) throw new ConfigError('TESSERA_PHONE_REGION', 'must be a two-letter region code such as US, GB or DE');
  return raw;
}

/** A secret from the environment: unset or empty means none; too short is refused (its value is never echoed). */
function secretSetting(env: Env, name: string, minLength: number): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < minLength) throw new ConfigError(name, `must be at least ${minLength} characters long`);
  return raw;
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Parse configuration from the environment and flags. Flags win over the environment. */
export function parseConfig(env: Env, flags: Flags = {}): Config {
  const dataDir = path.resolve(flags.dataDir ?? env.TESSERA_DATA_DIR ?? './data');
  const logLevel = env.TESSERA_LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.has(logLevel)) {
    throw new ConfigError('TESSERA_LOG_LEVEL', `must be one of ${[...LOG_LEVELS].join(', ')}`);
  }
  const processor = env.TESSERA_PROCESSOR ?? 'worker';
  if (processor !== 'worker' && processor !== 'inline' && processor !== 'off') {
    throw new ConfigError('TESSERA_PROCESSOR', 'must be worker, inline or off');
  }
  const adminToken = env.TESSERA_ADMIN_TOKEN === '' ? undefined : env.TESSERA_ADMIN_TOKEN;
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new ConfigError('TESSERA_ADMIN_TOKEN', 'must be at least 16 characters long');
  }
  const maxRequestBytes = intSetting(env, 'TESSERA_MAX_REQUEST_BYTES', 512_000, 1024, 64 * 1024 * 1024);
  return {
    port: parsePort(flags.port !== undefined ? '--port' : 'PORT', flags.port ?? env.PORT, 8080),
    host: flags.host ?? env.HOST ?? '127.0.0.1',
    dataDir,
    storage: parseStorage(flags.databaseUrl ?? env.TESSERA_DATABASE_URL, dataDir),
    log: parseLog(env, dataDir),
    adminToken,
    limits: {
      maxRequestBytes,
      maxInflatedBytes: intSetting(env, 'TESSERA_MAX_INFLATED_BYTES', Math.max(maxRequestBytes * 10, 5_000_000), 1024, 512 * 1024 * 1024),
      maxMessageBytes: intSetting(env, 'TESSERA_MAX_MESSAGE_BYTES', 32_768, 256, 16 * 1024 * 1024),
      maxBatchMessages: intSetting(env, 'TESSERA_MAX_BATCH_MESSAGES', 2_500, 1, 100_000),
      maxDepth: intSetting(env, 'TESSERA_MAX_DEPTH', 32, 2, 1_000),
      maxImportBytes: intSetting(env, 'TESSERA_MAX_IMPORT_BYTES', 100 * 1024 * 1024, 1024, 2 * 1024 * 1024 * 1024),
    },
    dedupWindowMs: intSetting(env, 'TESSERA_DEDUP_WINDOW_HOURS', 48, 24, 24 * 365) * 3_600_000,
    maxBacklogEvents: intSetting(env, 'TESSERA_MAX_BACKLOG_EVENTS', 2_000_000, 1, 1_000_000_000),
    logLevel,
    processor,
    corsMaxAgeSeconds: intSetting(env, 'TESSERA_CORS_MAX_AGE_SECONDS', 86_400, 0, 86_400 * 7),
    shutdownGraceMs: intSetting(env, 'TESSERA_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    phoneRegion: parseRegion(env.TESSERA_PHONE_REGION),
    installationSecret: secretSetting(env, 'TESSERA_INSTALLATION_SECRET', 32),
    smsWebhookSecret: secretSetting(env, 'TESSERA_SMS_WEBHOOK_SECRET', 16),
    smsBrand: env.TESSERA_SMS_BRAND || 'Tessera',
    smsHelpContact: env.TESSERA_SMS_HELP_CONTACT || 'the sender',
    privacyJobIntervalMs: intSetting(env, 'TESSERA_PRIVACY_JOB_INTERVAL_SECONDS', 3_600, 1, 86_400 * 7) * 1000,
  };
}
