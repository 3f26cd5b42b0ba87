/**
 * Identity warnings: a closed list of reasons why a value was not used as an identifier, or a fact was
 * not (fully) applied. They are values, not errors: the processor counts them per code and keeps them
 * findable. Details name identifier *types*, never values, so they can be logged without leaking PII
 * (the values are in the outcome's `droppedIdentifiers`).
 */
export const IDENTITY_WARNINGS = {
  invalid_email: 'An e-mail trait is not a syntactically valid address; it is not used for matching.',
  invalid_phone: 'A phone trait is not a valid number for its region; it is not used for matching.',
  invalid_identifier: 'An identifier field holds something other than a non-empty string or number, or is too long.',
  invalid_external_id: 'A `context.externalIds` entry lacks a usable `id` or `type`.',
  junk_value: 'The value is on the built-in junk list (`null`, `anonymous`, `0`, …); it is never matched.',
  blocked_value: 'The value is blocked by the identity rules (exact value or pattern).',
  limit_exceeded: "Using the identifier would give a profile more values of its type than the type's limit allows.",
  merge_cap: 'The merge would take a profile over the global cap on merges per profile.',
  identifier_cap: 'The merge or addition would take a profile over the global cap on identifiers per profile.',
  no_identifiers: 'After standardisation and rules, the event has no usable identifier; it joins no profile.',
  unknown_profile: 'An operator merge names a profile that is not (or no longer) known.',
  unmerge_noop: 'The identifier to unmerge is unknown, or already alone in its profile.',
  unmerge_incomplete: 'After unmerging, other facts still connect the identifier to the rest of its former profile.',
} as const;

export type IdentityWarningCode = keyof typeof IDENTITY_WARNINGS;

export interface IdentityWarning {
  code: IdentityWarningCode;
  detail: string;
}
