/**
 * A consent change as an operator or an import states it (the API's and the import's shape), checked and
 * turned into the change the consent core applies: a known purpose, valid times, and the proof it carries.
 */
import { findPurpose, type ConsentConfig } from '../core/consent/purposes.ts';
import type { ConsentChange } from '../core/consent/state.ts';
import { TesseraError } from '../core/errors/catalogue.ts';

/** A change as an operator or an import states it. Times are ISO-8601. */
export interface StatedChange {
  purpose: string;
  choice: 'granted' | 'denied';
  /** When the person chose; default now. */
  at?: string;
  expiresAt?: string;
  textVersion?: string;
  ip?: string;
  userAgent?: string;
}

function parseTime(text: string | undefined, field: string, fallback: number): number {
  if (text === undefined) return fallback;
  const t = Date.parse(text);
  if (!Number.isFinite(t)) throw new TesseraError('validation_failed', `${field} is not an ISO-8601 date`);
  return t;
}

/** Statement `i` of a request as a change, or a `validation_failed` error naming the field. */
export function toChange(
  s: StatedChange,
  i: number,
  source: 'api' | 'import',
  actor: string,
  now: number,
  config: ConsentConfig,
): ConsentChange {
  if (findPurpose(config, s.purpose) === undefined)
    throw new TesseraError('validation_failed', `/changes/${i}/purpose: unknown purpose '${s.purpose}'`);
  const at = parseTime(s.at, `/changes/${i}/at`, now);
  if (at > now + 60_000) throw new TesseraError('validation_failed', `/changes/${i}/at: a choice cannot be made in the future`);
  const expiresAt = s.expiresAt === undefined ? undefined : parseTime(s.expiresAt, `/changes/${i}/expiresAt`, now);
  return {
    purpose: s.purpose,
    choice: s.choice,
    proof: {
      source,
      operator: actor,
      at,
      ...(s.ip !== undefined ? { ip: s.ip } : {}),
      ...(s.userAgent !== undefined ? { userAgent: s.userAgent } : {}),
      ...(s.textVersion !== undefined ? { textVersion: s.textVersion } : {}),
    },
    ...(s.choice === 'granted' && expiresAt !== undefined ? { expiresAt } : {}),
  };
}
