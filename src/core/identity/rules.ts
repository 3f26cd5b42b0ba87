/**
 * Identity rules as data: what an operator configures (`IdentityRulesConfig`, plain JSON), how it is
 * validated (`validateRules`, readable errors), and the compiled form the resolver reads per event
 * (`IdentityRules`: sets and compiled patterns, so nothing is parsed on the hot path).
 */
import { CUSTOM_TYPE_PRIORITY, DEFAULT_PRIORITY, isBuiltinType, type Identifier } from './identifiers.ts';

export interface IdentifierRuleConfig {
  /** Lower number = higher priority; the lowest-priority identifier of an event is dropped first. */
  priority?: number;
  /** Most values of this type one profile may hold (default: user_id 1, others 5). */
  limit?: number;
  /** When set, the limit counts only values first seen within this many ms of the event's time. */
  limitWindowMs?: number;
  /** Exact values never matched (compared with the standardised value; e-mails are lower-cased here). */
  blocked?: string[];
  /** Regular expressions (JavaScript syntax, no flags) of values never matched. */
  blockedPatterns?: string[];
}

export interface IdentityRulesConfig {
  /** Per identifier type (`user_id`, `email`, …, or a custom type). Unlisted types get the defaults. */
  identifiers?: Record<string, IdentifierRuleConfig>;
  /** Most profiles one profile may absorb over its life (default 100). */
  maxMerges?: number;
  /** Most identifiers one profile may hold (default 1,000). */
  maxIdentifiers?: number;
}

export interface TypeRule {
  readonly priority: number;
  readonly limit: number;
  readonly limitWindowMs: number | null;
  readonly blocked: ReadonlySet<string>;
  readonly blockedPatterns: readonly RegExp[];
}

/** Compiled rules. Build with `compileRules` or `validateRules`; pass to every `apply`. */
export interface IdentityRules {
  readonly config: IdentityRulesConfig;
  readonly maxMerges: number;
  readonly maxIdentifiers: number;
  forType(type: string): TypeRule;
}

export const DEFAULT_MAX_MERGES = 100;
export const DEFAULT_MAX_IDENTIFIERS = 1000;
export const DEFAULT_LIMIT = 5;
export const DEFAULT_USER_ID_LIMIT = 1;

const TYPE_NAME = /^[a-z0-9_.-]+$/;
const RULE_FIELDS = new Set(['priority', 'limit', 'limitWindowMs', 'blocked', 'blockedPatterns']);
const TOP_FIELDS = new Set(['identifiers', 'maxMerges', 'maxIdentifiers']);
const MAX_PATTERN_LENGTH = 500;

/**
 * Values that buggy SDKs and careless integrations send as ids. Compared case-insensitively after
 * trimming and removing one pair of surrounding quotes, so `"null"`, `'NULL'` and ` null ` all match.
 */
const JUNK_VALUES = new Set([
  '',
  'anonymous',
  'anonymous_id',
  'anonymousid',
  'distinct_id',
  'false',
  'guest',
  'nan',
  'nil',
  'none',
  'null',
  'true',
  'undefined',
  'unknown',
  'user_id',
  'userid',
  '-1',
  '[object object]',
]);
/** Zeros and dashes only: `0`, `000`, and the all-zero advertising id sent when tracking is off. */
const ZEROS_AND_DASHES = /^[0-]*$/;

export function isJunkValue(value: string): boolean {
  let v = value.trim();
  if (v.length >= 2) {
    const first = v[0];
    if ((first === '"' || first === "'" || first === '`') && v[v.length - 1] === first) v = v.slice(1, -1).trim();
  }
  if (ZEROS_AND_DASHES.test(v)) return true;
  return v.length <= 20 && JUNK_VALUES.has(v.toLowerCase()); // every listed value is short: skip lower-casing long ids
}

export type Rejection = 'junk_value' | 'blocked_value';

/** Why this identifier may never be matched under these rules, or null when it may. */
export function rejectionOf(id: Identifier, rules: IdentityRules): Rejection | null {
  if (isJunkValue(id.value)) return 'junk_value';
  const rule = rules.forType(id.type);
  if (rule.blocked.has(id.value)) return 'blocked_value';
  for (const pattern of rule.blockedPatterns) if (pattern.test(id.value)) return 'blocked_value';
  return null;
}

function defaultRule(type: string): TypeRule {
  return {
    priority: isBuiltinType(type) ? DEFAULT_PRIORITY[type] : CUSTOM_TYPE_PRIORITY,
    limit: type === 'user_id' ? DEFAULT_USER_ID_LIMIT : DEFAULT_LIMIT,
    limitWindowMs: null,
    blocked: new Set(),
    blockedPatterns: [],
  };
}

const isInt = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
const describe = (v: unknown): string => (v === undefined ? 'nothing' : (JSON.stringify(v) ?? String(v)));

function validateTypeRule(path: string, raw: unknown, errors: string[]): void {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    errors.push(`${path}: must be an object`);
    return;
  }
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r))
    if (!RULE_FIELDS.has(key)) errors.push(`${path}.${key}: unknown field (known: ${[...RULE_FIELDS].join(', ')})`);
  if (r.priority !== undefined && !isInt(r.priority, 0))
    errors.push(`${path}.priority: must be an integer >= 0, got ${describe(r.priority)}`);
  if (r.limit !== undefined && !isInt(r.limit, 1)) errors.push(`${path}.limit: must be an integer >= 1, got ${describe(r.limit)}`);
  if (r.limitWindowMs !== undefined && !isInt(r.limitWindowMs, 1))
    errors.push(`${path}.limitWindowMs: must be an integer >= 1 (milliseconds), got ${describe(r.limitWindowMs)}`);
  for (const field of ['blocked', 'blockedPatterns'] as const) {
    const list = r[field];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      errors.push(`${path}.${field}: must be an array of strings`);
      continue;
    }
    list.forEach((item, i) => {
      if (typeof item !== 'string') errors.push(`${path}.${field}[${i}]: must be a string, got ${describe(item)}`);
      else if (field === 'blockedPatterns') {
        if (item.length > MAX_PATTERN_LENGTH) errors.push(`${path}.${field}[${i}]: longer than ${MAX_PATTERN_LENGTH} characters`);
        else {
          try {
            new RegExp(item);
          } catch (e) {
            errors.push(`${path}.${field}[${i}]: not a valid regular expression (${(e as Error).message})`);
          }
        }
      }
    });
  }
}

export type RulesValidation = { ok: true; rules: IdentityRules } | { ok: false; errors: string[] };

/** Validate operator-supplied rules (e.g. a JSON body) and compile them; errors name the offending path. */
export function validateRules(input: unknown): RulesValidation {
  const errors: string[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { ok: false, errors: ['rules: must be an object'] };
  const r = input as Record<string, unknown>;
  for (const key of Object.keys(r)) if (!TOP_FIELDS.has(key)) errors.push(`${key}: unknown field (known: ${[...TOP_FIELDS].join(', ')})`);
  if (r.maxMerges !== undefined && !isInt(r.maxMerges, 0)) errors.push(`maxMerges: must be an integer >= 0, got ${describe(r.maxMerges)}`);
  if (r.maxIdentifiers !== undefined && !isInt(r.maxIdentifiers, 1))
    errors.push(`maxIdentifiers: must be an integer >= 1, got ${describe(r.maxIdentifiers)}`);
  if (r.identifiers !== undefined) {
    if (typeof r.identifiers !== 'object' || r.identifiers === null || Array.isArray(r.identifiers))
      errors.push('identifiers: must be an object keyed by identifier type');
    else {
      for (const [type, rule] of Object.entries(r.identifiers)) {
        if (!TYPE_NAME.test(type)) errors.push(`identifiers.${type}: type names are lower-case letters, digits, '_', '.' or '-'`);
        validateTypeRule(`identifiers.${type}`, rule, errors);
      }
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, rules: build(input as IdentityRulesConfig) };
}

/** Compile rules written in code; throws (a bug, not an input error) when they are invalid. */
export function compileRules(config: IdentityRulesConfig = {}): IdentityRules {
  const result = validateRules(config);
  if (!result.ok) throw new Error(`invalid identity rules: ${result.errors.join('; ')}`);
  return result.rules;
}

function build(config: IdentityRulesConfig): IdentityRules {
  const byType = new Map<string, TypeRule>();
  for (const [type, rule] of Object.entries(config.identifiers ?? {})) {
    const base = defaultRule(type);
    byType.set(type, {
      priority: rule.priority ?? base.priority,
      limit: rule.limit ?? base.limit,
      limitWindowMs: rule.limitWindowMs ?? null,
      blocked: new Set((rule.blocked ?? []).map((v) => (type === 'email' ? v.trim().toLowerCase() : v))),
      blockedPatterns: (rule.blockedPatterns ?? []).map((p) => new RegExp(p)),
    });
  }
  for (const type of Object.keys(DEFAULT_PRIORITY)) if (!byType.has(type)) byType.set(type, defaultRule(type));
  // Every unconfigured custom type shares one rule, so hostile type names cannot grow a cache.
  const custom = defaultRule('custom');
  return {
    config,
    maxMerges: config.maxMerges ?? DEFAULT_MAX_MERGES,
    maxIdentifiers: config.maxIdentifiers ?? DEFAULT_MAX_IDENTIFIERS,
    forType: (type) => byType.get(type) ?? custom,
  };
}

/** The defaults: user_id 1 value, others 5; priorities user_id 1, email 2, phone 3, custom 4, device ids, anonymous_id last. */
export const DEFAULT_RULES: IdentityRules = compileRules({});
