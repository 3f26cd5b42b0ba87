/**
 * Suppression keys: a suppression list must not itself hold the personal data it suppresses. Each
 * suppressed identifier is stored as the hex HMAC-SHA256 of its standardised key (`type:value`, see
 * identity/identifiers.ts), so the list can answer "is this person suppressed?" for an incoming event
 * without being readable. Every identifier of an event is checked, not only `userId`.
 */
import { identifierKey, type Identifier } from '../identity/identifiers.ts';
import { hmacHex } from './fields.ts';

/** The key of one standardised identifier (e-mail lower-cased, phone in E.164: standardise first). */
export function suppressionKey(secret: string, identifier: Identifier): string {
  return hmacHex(secret, identifierKey(identifier));
}

/** Whether any of an event's identifiers is on the list of suppression keys. */
export function isSuppressed(suppressed: ReadonlySet<string>, secret: string, identifiers: readonly Identifier[]): boolean {
  return identifiers.some((id) => suppressed.has(suppressionKey(secret, id)));
}
