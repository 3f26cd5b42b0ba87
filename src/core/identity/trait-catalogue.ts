/**
 * The trait catalogue is discovered from the data: the first time a top-level trait name is seen, it is
 * described from its name and value. Operators correct the guesses through the API (and then discovery
 * leaves them alone). Categories follow the 360° view: identity, descriptive, quantitative,
 * qualitative, social and mobile data.
 */
export const TRAIT_CATEGORIES = ['identity', 'descriptive', 'quantitative', 'qualitative', 'social', 'mobile'] as const;
export type TraitCategory = (typeof TRAIT_CATEGORIES)[number];

export interface TraitDescription {
  type: 'string' | 'number' | 'boolean' | 'array' | 'object' | 'date' | 'null';
  /** A short example value (truncated), or null when the trait is personal data. */
  example: string | null;
  category: TraitCategory;
  pii: boolean;
}

const norm = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]/g, '');

const IDENTITY = new Set(['email', 'phone', 'userid', 'id', 'username', 'mobile', 'phonenumber', 'emailaddress', 'customerid']);
const PII_DESCRIPTIVE = new Set([
  'name',
  'firstname',
  'lastname',
  'fullname',
  'address',
  'street',
  'birthday',
  'dateofbirth',
  'dob',
  'avatar',
  'postalcode',
  'zip',
  'zipcode',
  'ip',
]);
const SOCIAL = /twitter|facebook|linkedin|instagram|tiktok|youtube|github|social|followers/;
const MOBILE = /device|^os|osversion|appversion|app(name|build)|pushtoken|carrier|platform|screen/;
const QUALITATIVE = /nps|score|satisfaction|feedback|rating|review|survey|sentiment|comment|preference|interest/;
const QUANTITATIVE = /count|total|revenue|ltv|lifetime|spent|orders|amount|value|balance|points|visits|purchases/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function typeOf(value: unknown): TraitDescription['type'] {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string') return ISO_DATE.test(value) ? 'date' : 'string';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  return 'object';
}

export function describeTrait(name: string, value: unknown): TraitDescription {
  const n = norm(name);
  const type = typeOf(value);
  let category: TraitCategory = 'descriptive';
  let pii = false;
  if (IDENTITY.has(n) || n.endsWith('email') || n.endsWith('phone')) {
    category = 'identity';
    pii = true;
  } else if (PII_DESCRIPTIVE.has(n)) pii = true;
  else if (SOCIAL.test(n)) category = 'social';
  else if (MOBILE.test(n)) category = 'mobile';
  else if (QUALITATIVE.test(n)) category = 'qualitative';
  else if (QUANTITATIVE.test(n) || type === 'number') category = 'quantitative';
  const text = value === undefined ? null : JSON.stringify(value);
  const example = pii || text === null ? null : text.length > 80 ? text.slice(0, 77) + '...' : text;
  return { type, example, category, pii };
}
