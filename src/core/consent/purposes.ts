/**
 * Consent purposes and how consent-manager category names map onto them, as validated config.
 *
 * A purpose is what data is used for (`analytics`, `advertising`, …). Browsers send consent as
 * Segment `categoryPreferences`, keyed by whatever the consent manager calls its categories
 * (`Advertising`, `Marketing`, OneTrust's `C0004`, …); the alias map turns those names into purposes.
 * A category may map to several purposes, or to none (`C0001`, strictly necessary, concerns no purpose
 * we decide on but is still a known name, so it is not reported as unknown).
 */
import Type, { type Static } from 'typebox';
import { compiledCheck, schemaProblems, type RuleProblem } from '../segments/schema-problems.ts';

const closed = { additionalProperties: false } as const;
const PURPOSE_ID = '^[a-z][a-z0-9_]*$';

export const PurposeSchema = Type.Object(
  {
    id: Type.String({ pattern: PURPOSE_ID, description: 'Stable id, e.g. `email_marketing`.' }),
    name: Type.String({ minLength: 1, description: 'Display name.' }),
    defaultWhenUnknown: Type.Enum(['granted', 'denied'], {
      description: 'The decision for a profile with no recorded choice for this purpose.',
    }),
    grantValidityDays: Type.Optional(
      Type.Integer({ minimum: 1, description: 'A grant read from an event expires after this many days (e.g. 395 = 13 months).' }),
    ),
  },
  { ...closed, description: 'A purpose personal data may be used for.' },
);
export type Purpose = Static<typeof PurposeSchema>;

export const ConsentConfigSchema = Type.Object(
  {
    purposes: Type.Array(PurposeSchema, { minItems: 1 }),
    categoryAliases: Type.Record(Type.String({ minLength: 1 }), Type.Array(Type.String({ pattern: PURPOSE_ID })), {
      description: 'Consent-manager category name → purpose ids. Matched ignoring case and surrounding spaces.',
    }),
    missingCategories: Type.Optional(
      Type.Enum(['unchanged', 'denied'], {
        description: "What a non-empty categoryPreferences object means for aliased purposes it does not mention. Default 'unchanged'.",
      }),
    ),
    emailWithoutSubscription: Type.Optional(
      Type.Enum(['allowed', 'refused'], {
        description: "Whether marketing e-mail may go to an address that never subscribed (did_not_subscribe). Default 'allowed'.",
      }),
    ),
  },
  { ...closed, description: 'Consent purposes, category aliases and channel defaults.' },
);
const checkConsentConfig = compiledCheck(ConsentConfigSchema);
export type ConsentConfig = Static<typeof ConsentConfigSchema>;

/** The built-in purposes. Analytics is allowed until refused; every marketing purpose needs a choice. */
export const DEFAULT_PURPOSES: readonly Purpose[] = [
  { id: 'analytics', name: 'Analytics', defaultWhenUnknown: 'granted' },
  { id: 'personalization', name: 'Personalization', defaultWhenUnknown: 'granted' },
  { id: 'advertising', name: 'Advertising', defaultWhenUnknown: 'denied' },
  { id: 'email_marketing', name: 'Email marketing', defaultWhenUnknown: 'denied' },
  { id: 'sms_marketing', name: 'SMS marketing', defaultWhenUnknown: 'denied' },
];

/**
 * Segment's usual category names and OneTrust's default category ids. Cookie banners never collect
 * e-mail or SMS opt-in, so no default alias reaches `email_marketing` or `sms_marketing`: `Marketing`
 * on a banner means marketing cookies, i.e. advertising.
 */
export const DEFAULT_CATEGORY_ALIASES: Readonly<Record<string, readonly string[]>> = {
  Analytics: ['analytics'],
  Performance: ['analytics'],
  Statistics: ['analytics'],
  Functional: ['personalization'],
  Personalization: ['personalization'],
  Advertising: ['advertising'],
  Marketing: ['advertising'],
  Targeting: ['advertising'],
  'Strictly Necessary': [],
  Necessary: [],
  C0001: [],
  C0002: ['analytics'],
  C0003: ['personalization'],
  C0004: ['advertising'],
  C0005: ['advertising'],
};

export const DEFAULT_CONSENT_CONFIG: ConsentConfig = {
  purposes: DEFAULT_PURPOSES.map((p) => ({ ...p })),
  categoryAliases: Object.fromEntries(Object.entries(DEFAULT_CATEGORY_ALIASES).map(([k, v]) => [k, [...v]])),
};

export type { RuleProblem as ConfigProblem } from '../segments/schema-problems.ts';
export type ValidatedConfig = { ok: true; value: ConsentConfig } | { ok: false; problems: RuleProblem[] };

/** Check consent config received as JSON: the schema, then unique purpose ids and aliases to known purposes. */
export function validateConsentConfig(json: unknown): ValidatedConfig {
  if (!checkConsentConfig(json)) return { ok: false, problems: schemaProblems(ConsentConfigSchema, json) };
  const problems: RuleProblem[] = [];
  const ids = new Set<string>();
  json.purposes.forEach((p, i) => {
    if (ids.has(p.id)) problems.push({ path: `/purposes/${i}/id`, message: `duplicate purpose '${p.id}'` });
    ids.add(p.id);
  });
  const seen = new Map<string, string>();
  for (const [category, targets] of Object.entries(json.categoryAliases)) {
    const path = `/categoryAliases/${category.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    const folded = foldCategory(category);
    const clash = seen.get(folded);
    if (clash !== undefined) problems.push({ path, message: `'${category}' and '${clash}' are the same category ignoring case` });
    seen.set(folded, category);
    targets.forEach((t, i) => {
      if (!ids.has(t)) problems.push({ path: `${path}/${i}`, message: `unknown purpose '${t}'` });
    });
  }
  return problems.length === 0 ? { ok: true, value: json } : { ok: false, problems };
}

/** Find a purpose by id; `undefined` when the config does not define it. */
export function findPurpose(config: ConsentConfig, id: string): Purpose | undefined {
  return config.purposes.find((p) => p.id === id);
}

function foldCategory(name: string): string {
  return name.trim().toLowerCase();
}

/**
 * The purposes a category name stands for, or `undefined` when the name is unknown. A purpose id or
 * display name is always its own alias, so `{ email_marketing: true }` works without configuration.
 */
export function purposesOfCategory(config: ConsentConfig, category: string): readonly string[] | undefined {
  return categoryIndexOf(config).get(foldCategory(category));
}

/**
 * Folded category name → purposes, built once per config (configs are never changed in place: a new
 * one is loaded whole). Aliases first; then each purpose's id and display name, in the order of the
 * purposes, where no alias took the name.
 */
const categoryIndexes = new WeakMap<ConsentConfig, ReadonlyMap<string, readonly string[]>>();
function categoryIndexOf(config: ConsentConfig): ReadonlyMap<string, readonly string[]> {
  let index = categoryIndexes.get(config);
  if (index !== undefined) return index;
  const built = new Map<string, readonly string[]>();
  const add = (name: string, targets: readonly string[]) => {
    if (!built.has(name)) built.set(name, targets);
  };
  for (const [name, targets] of Object.entries(config.categoryAliases)) add(foldCategory(name), targets);
  for (const p of config.purposes) {
    const own = [p.id];
    add(p.id, own);
    add(foldCategory(p.name), own);
  }
  index = built;
  categoryIndexes.set(config, index);
  return index;
}

/** The purposes that some alias reaches: those a consent manager can express at all. */
export function aliasedPurposes(config: ConsentConfig): Set<string> {
  return new Set(Object.values(config.categoryAliases).flat());
}
