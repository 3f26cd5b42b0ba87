/**
 * Collection policies as data: what a source may keep of an event, depending on consent.
 *
 * `mode` is what happens to an event when its `requiredPurpose` is not allowed for the person (or
 * always, when the policy names no purpose):
 * - `store`: keep the event as it is (field rules still apply);
 * - `restrict`: keep it, but do not process it (GDPR restriction: no profile, segment or activation
 *   updates; it can still be exported or deleted);
 * - `anonymise`: keep it without identity or personal data (see anonymise.ts), for aggregates only;
 * - `drop`: do not keep it (counted with its reason).
 * When the required purpose is allowed the event is stored. Field rules remove or hash one field
 * each, unless their `unlessPurpose` is allowed.
 */
import Type, { type Static } from 'typebox';
import { findPurpose, type ConsentConfig } from '../consent/purposes.ts';
import { compiledCheck, schemaProblems, type RuleProblem } from '../segments/schema-problems.ts';

const closed = { additionalProperties: false } as const;

export const POLICY_MODES = ['store', 'restrict', 'anonymise', 'drop'] as const;
export type PolicyMode = (typeof POLICY_MODES)[number];

/** `properties.email`, `traits.phone`, `context.ip`, `context.traits.email`, … */
export const FIELD_PATH_PATTERN = '^(properties|traits|context)(\\.[^.]+)+$';
const purposeId = (description: string) => Type.String({ pattern: '^[a-z][a-z0-9_]*$', description });

export const FieldRuleSchema = Type.Object(
  {
    path: Type.String({ pattern: FIELD_PATH_PATTERN, description: 'Dotted path into properties, traits or context.' }),
    action: Type.Enum(['remove', 'hash'], { description: 'remove the field, or replace it by its HMAC-SHA256 (hex).' }),
    unlessPurpose: Type.Optional(purposeId('Keep the field as it is when this purpose is allowed.')),
  },
  { ...closed, description: 'What to do with one field.' },
);
export type FieldRule = Static<typeof FieldRuleSchema>;

export const CollectionPolicySchema = Type.Object(
  {
    mode: Type.Enum(POLICY_MODES, { description: 'What happens when requiredPurpose is not allowed (or always, without one).' }),
    requiredPurpose: Type.Optional(purposeId('The purpose that lets events be stored as they are.')),
    fieldRules: Type.Optional(Type.Array(FieldRuleSchema, { description: 'Per-field removal or hashing.' })),
  },
  { ...closed, description: "A source's collection policy." },
);
const checkCollectionPolicy = compiledCheck(CollectionPolicySchema);
export type CollectionPolicy = Static<typeof CollectionPolicySchema>;

/** What a source without a policy does: store everything. */
export const STORE_EVERYTHING: CollectionPolicy = { mode: 'store' };

const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

export type ValidatedPolicy = { ok: true; value: CollectionPolicy } | { ok: false; problems: RuleProblem[] };

/** Check a policy received as JSON: the schema, safe paths, and purposes the config defines. */
export function validateCollectionPolicy(json: unknown, config: ConsentConfig): ValidatedPolicy {
  if (!checkCollectionPolicy(json)) return { ok: false, problems: schemaProblems(CollectionPolicySchema, json) };
  const problems: RuleProblem[] = [];
  const known = (id: string | undefined, path: string) => {
    if (id !== undefined && findPurpose(config, id) === undefined) problems.push({ path, message: `unknown purpose '${id}'` });
  };
  known(json.requiredPurpose, '/requiredPurpose');
  (json.fieldRules ?? []).forEach((rule, i) => {
    known(rule.unlessPurpose, `/fieldRules/${i}/unlessPurpose`);
    if (rule.path.split('.').some((s) => FORBIDDEN_SEGMENTS.has(s))) {
      problems.push({ path: `/fieldRules/${i}/path`, message: `'${rule.path}' names a reserved key` });
    }
  });
  return problems.length === 0 ? { ok: true, value: json } : { ok: false, problems };
}
