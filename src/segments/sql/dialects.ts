/**
 * What differs between SQLite and PostgreSQL when a rule is compiled to SQL: how a JSON value is
 * reached and typed, how parameters are typed, how text is ordered. The compiler (`compile-rule.ts`)
 * only talks to this interface; there is no `if (sqlite)` anywhere else.
 *
 * Types follow JavaScript, as the reference evaluator sees a value after `JSON.parse`: SQLite's
 * `json_type` says `integer`/`real` (both numbers) and `true`/`false` (booleans, which `json_extract`
 * would turn into 1/0 — so booleans are always tested by type, never by value); PostgreSQL's
 * `jsonb_typeof` says `number`/`boolean`. "Nullish" is a missing key or a JSON null: no value.
 */
import { raw, sql, type Fragment, type Param } from './fragment.ts';

export type JsonType = 'string' | 'number' | 'true' | 'false' | 'array' | 'object' | 'nullish';

/**
 * Where a JSON value lives: an event property (`properties[key]` of `e.payload`), or a stored trait
 * (the entry under its encoded key in `p.traits`, whose `value` is the trait's value).
 */
export type JsonPlace = { doc: 'property'; key: string } | { doc: 'trait'; key: string };

export type OrderOp = '>' | '>=' | '<' | '<=';

export interface RuleDialect {
  readonly name: 'sqlite' | 'postgres';
  /** `e` is not restricted (restricted events are never seen by segments). */
  readonly visible: Fragment;
  /** Joins after `events e` that make `property` places readable (PostgreSQL parses the payload once). */
  readonly eventJoin: Fragment;
  /** Joins after `profiles p` that make `trait` places readable. */
  readonly profileJoin: Fragment;
  /** A bound instant (ms) / number / text, typed where PostgreSQL cannot infer it. */
  int(value: number): Fragment;
  num(value: number): Fragment;
  text(value: string): Fragment;
  /** Is the value at `place` of this type? Never NULL. */
  isType(place: JsonPlace, type: JsonType): Fragment;
  /** The value as a number (meaningful when `isType(place, 'number')`), else NULL. */
  numberAt(place: JsonPlace): Fragment;
  /** The value as text (meaningful when `isType(place, 'string')`). */
  textAt(place: JsonPlace): Fragment;
  /** A number that is a whole number of magnitude ≤ 2^31 (sums of those are exact in any order). */
  isSmallInteger(place: JsonPlace): Fragment;
  /** Text ordering by code point (= JavaScript's code-unit order for the literals the compiler allows). */
  orderText(expr: Fragment, op: OrderOp, literal: string): Fragment;
  /** The first / last `length` characters (code points) of `expr` equal `literal`. */
  startsWith(expr: Fragment, literal: string, length: number): Fragment;
  endsWith(expr: Fragment, literal: string, length: number): Fragment;
  /** Some stored trait path lies below this encoded key (then the trait's value is an object). */
  hasTraitsBelow(encodedKey: string): Fragment;
  /** `a / b` as a floating-point division (`b` is never 0 where this is used). */
  divide(a: Fragment, b: Fragment): Fragment;
  /** An aggregate: the group's values (integers, or lists made by this) as one comma-separated text. */
  listAgg(expr: Fragment): Fragment;
}

const SMALL = 2_147_483_648;

/** SQLite: JSON1 paths over the stored text. */
export const sqliteRuleDialect: RuleDialect = {
  name: 'sqlite',
  visible: raw('e.restricted = 0'),
  eventJoin: raw(''),
  profileJoin: raw(''),
  int: (v) => sql`${v}`,
  num: (v) => sql`${v}`,
  text: (v) => sql`${v}`,
  isType(place, type) {
    const t = sqliteType(place);
    switch (type) {
      case 'string':
        return sql`coalesce(${t}, '') = 'text'`;
      case 'number':
        return sql`coalesce(${t}, '') IN ('integer', 'real')`;
      case 'nullish':
        return sql`coalesce(${t}, 'null') = 'null'`;
      default:
        return sql`coalesce(${t}, '') = ${raw(`'${type}'`)}`;
    }
  },
  numberAt: (place) => sqliteValue(place),
  textAt: (place) => sqliteValue(place),
  isSmallInteger: (place) => sql`(coalesce(${sqliteType(place)}, '') = 'integer' AND abs(${sqliteValue(place)}) <= ${raw(String(SMALL))})`,
  orderText: (expr, op, literal) => sql`${expr} ${raw(op)} ${literal}`,
  startsWith: (expr, literal, length) => sql`substr(${expr}, 1, ${length}) = ${literal}`,
  endsWith: (expr, literal, length) => sql`(length(${expr}) >= ${length} AND substr(${expr}, -${length}) = ${literal})`,
  hasTraitsBelow(key) {
    const prefix = `${key}.`;
    // `instr` first: stored traits are JSON.stringify output, so a key below appears as `"<key>.` in the text.
    return sql`(instr(p.traits, ${JSON.stringify(prefix).slice(0, -1)}) > 0
      AND EXISTS (SELECT 1 FROM json_each(p.traits) j WHERE substr(j.key, 1, ${[...prefix].length}) = ${prefix}))`;
  },
  divide: (a, b) => sql`(CAST(${a} AS REAL) / ${b})`,
  listAgg: (expr) => sql`group_concat(${expr})`,
};

/** SQLite JSON path of a place; keys are quoted (the compiler refuses keys containing `"` or `\`). */
function sqlitePath(place: JsonPlace): string {
  return place.doc === 'property' ? `$.properties."${place.key}"` : `$."${place.key}".value`;
}

function sqliteDoc(place: JsonPlace): Fragment {
  return raw(place.doc === 'property' ? 'e.payload' : 'p.traits');
}

function sqliteType(place: JsonPlace): Fragment {
  return sql`json_type(${sqliteDoc(place)}, ${sqlitePath(place)})`;
}

function sqliteValue(place: JsonPlace): Fragment {
  return sql`json_extract(${sqliteDoc(place)}, ${sqlitePath(place)})`;
}

/** PostgreSQL: jsonb, parsed once per row through LATERAL joins. */
export const postgresRuleDialect: RuleDialect = {
  name: 'postgres',
  visible: raw('NOT e.restricted'),
  eventJoin: raw(
    ` CROSS JOIN LATERAL (SELECT e.payload::jsonb -> 'properties' AS j) x0` +
      ` CROSS JOIN LATERAL (SELECT CASE WHEN jsonb_typeof(x0.j) = 'object' THEN x0.j END AS props) x`,
  ),
  profileJoin: raw(' CROSS JOIN LATERAL (SELECT p.traits::jsonb AS tj) t'),
  int: (v) => sql`${v}::bigint`,
  num: (v) => sql`${v}::float8`,
  text: (v) => sql`${v}::text`,
  isType(place, type) {
    const ref = pgRef(place);
    switch (type) {
      case 'nullish':
        return sql`coalesce(jsonb_typeof(${ref}), 'null') = 'null'`;
      case 'true':
      case 'false':
        return sql`coalesce(${ref} = ${raw(`'${type}'`)}::jsonb, FALSE)`;
      default:
        return sql`coalesce(jsonb_typeof(${ref}), '') = ${raw(`'${type}'`)}`;
    }
  },
  numberAt: (place) => {
    const ref = pgRef(place);
    return sql`(CASE WHEN jsonb_typeof(${ref}) = 'number' THEN (${ref} #>> '{}')::float8 END)`;
  },
  textAt: (place) => sql`(${pgRef(place)} #>> '{}')`,
  isSmallInteger(place) {
    const n = postgresRuleDialect.numberAt(place);
    return sql`coalesce(${n} = trunc(${n}) AND abs(${n}) <= ${raw(String(SMALL))}, FALSE)`;
  },
  orderText: (expr, op, literal) => sql`${expr} COLLATE "C" ${raw(op)} ${literal}::text`,
  startsWith: (expr, literal, length) => sql`left(${expr}, ${length}::int) = ${literal}::text`,
  endsWith: (expr, literal, length) => sql`(length(${expr}) >= ${length}::int AND right(${expr}, ${length}::int) = ${literal}::text)`,
  hasTraitsBelow(key) {
    const prefix = `${key}.`;
    return sql`(position(${JSON.stringify(prefix).slice(0, -1)}::text in p.traits) > 0
      AND EXISTS (SELECT 1 FROM jsonb_object_keys(t.tj) k WHERE left(k, ${[...prefix].length}::int) = ${prefix}::text))`;
  },
  divide: (a, b) => sql`(${a}::float8 / ${b})`,
  listAgg: (expr) => sql`string_agg(${expr}::text, ',')`,
};

function pgRef(place: JsonPlace): Fragment {
  return place.doc === 'property' ? sql`(x.props -> ${place.key}::text)` : sql`(t.tj -> ${place.key}::text -> 'value')`;
}

export const RULE_DIALECTS: Record<'sqlite' | 'postgres', RuleDialect> = { sqlite: sqliteRuleDialect, postgres: postgresRuleDialect };

export type { Param };
