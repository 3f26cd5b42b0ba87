/**
 * The comparisons of the SQL fast path (`compile-rule.ts`), as `src/core/segments/compare.ts` defines
 * them: `.where(…)` filters over event properties, reduced values, and JSON values at a property or a
 * trait, typed as JavaScript sees them. Never NULL; what cannot be compiled exactly throws `Unsupported`.
 */
import type { Comparison, Filter, Scalar } from '../../core/segments/definition.ts';
import { parseInstant } from '../../core/segments/time.ts';
import type { JsonPlace, OrderOp, RuleDialect } from './dialects.ts';
import { join, raw, sql, type Fragment } from './fragment.ts';

/** Thrown when a rule cannot be compiled exactly: the caller falls back to the per-profile path. */
export class Unsupported extends Error {}

export const FALSE = raw('FALSE');
export const TRUE = raw('TRUE');

/** Keys are quoted inside SQLite JSON paths: refuse what would need escaping there. */
export function checkKey(key: string): void {
  if (key === '' || /["\\]/.test(key)) throw new Unsupported(`the key ${JSON.stringify(key)}`);
}

/** A `.where(…)` filter: a boolean per event row (never NULL). */

export function compileFilter(d: RuleDialect, node: Filter | undefined): Fragment {
  if (node === undefined) return TRUE;
  switch (node.kind) {
    case 'and':
      return sql`(${join(
        node.conditions.map((c) => compileFilter(d, c)),
        ' AND ',
      )})`;
    case 'or':
      return sql`(${join(
        node.conditions.map((c) => compileFilter(d, c)),
        ' OR ',
      )})`;
    case 'not':
      return sql`(NOT ${compileFilter(d, node.condition)})`;
    case 'property':
      if (node.path.includes('.')) throw new Unsupported(`property('${node.path}'): dotted paths`);
      checkKey(node.path);
      return compareJson(d, { doc: 'property', key: node.path }, node.comparison);
    case 'event':
      throw new Unsupported('funnel conditions');
    default: {
      const _never: never = node;
      return _never;
    }
  }
}

/** A reduced value: a number, or NULL for "no value" (which satisfies nothing). */
export function compareNumber(d: RuleDialect, v: Fragment, c: Comparison): Fragment {
  const present = (cond: Fragment) => sql`(CASE WHEN ${v} IS NULL THEN FALSE ELSE ${cond} END)`;
  switch (c.op) {
    case '=':
      return typeof c.value === 'number' ? present(sql`${v} = ${d.num(c.value)}`) : FALSE;
    case '!=':
      // `!= null` is is_set; any non-number literal differs from every number.
      return typeof c.value === 'number' ? present(sql`${v} <> ${d.num(c.value)}`) : present(TRUE);
    case '>':
    case '>=':
    case '<':
    case '<=':
      return typeof c.value === 'number' ? present(sql`${v} ${raw(c.op)} ${d.num(c.value)}`) : FALSE;
    case 'is_set':
      return present(TRUE);
    case 'is_null':
      return FALSE;
    case 'one_of': {
      const nums = c.values.filter((x): x is number => typeof x === 'number');
      return nums.length === 0
        ? FALSE
        : present(
            sql`(${join(
              nums.map((n) => sql`${v} = ${d.num(n)}`),
              ' OR ',
            )})`,
          );
    }
    case 'before_date':
    case 'after_date': {
      const bound = parseInstant(c.date);
      if (bound === undefined) return FALSE;
      return present(sql`${v} ${raw(c.op === 'before_date' ? '<' : '>')} ${d.num(bound)}`);
    }
    case 'contains':
    case 'omits':
    case 'starts_with':
    case 'ends_with':
    case 'contains_one':
      // Text and list comparators never hold for a number.
      return FALSE;
    case 'within_last':
    case 'before_last':
    case 'within_next':
    case 'after_next':
      throw new Unsupported(`${c.op}: relative dates`);
    default: {
      const _never: never = c;
      return _never;
    }
  }
}

/** A JSON value at `place` (property or trait), typed as JavaScript sees it. */
export function compareJson(d: RuleDialect, place: JsonPlace, c: Comparison): Fragment {
  const nullish = d.isType(place, 'nullish');
  const equals = (lit: Scalar): Fragment => {
    if (lit === null) return FALSE; // sameScalar(value, null) with a value present: never
    if (typeof lit === 'boolean') return d.isType(place, lit ? 'true' : 'false');
    if (typeof lit === 'number') return sql`(${d.isType(place, 'number')} AND ${d.numberAt(place)} = ${d.num(lit)})`;
    return sql`(${d.isType(place, 'string')} AND ${d.textAt(place)} = ${d.text(lit)})`;
  };
  switch (c.op) {
    case 'is_null':
      return nullish;
    case 'is_set':
      return sql`(NOT ${nullish})`;
    case '=':
      return c.value === null ? nullish : equals(c.value);
    case '!=':
      return c.value === null ? sql`(NOT ${nullish})` : sql`(NOT ${nullish} AND NOT ${equals(c.value)})`;
    case '>':
    case '>=':
    case '<':
    case '<=':
      return order(d, place, c.op, c.value);
    case 'one_of':
      return sql`(${join(c.values.map(equals), ' OR ')})`;
    case 'starts_with':
    case 'ends_with': {
      if (/\p{Surrogate}/u.test(c.value)) throw new Unsupported('text with lone surrogates');
      const isString = d.isType(place, 'string');
      if (c.value === '') return isString;
      const length = [...c.value].length;
      const text = d.textAt(place);
      const test = c.op === 'starts_with' ? d.startsWith(text, c.value, length) : d.endsWith(text, c.value, length);
      return sql`(${isString} AND ${test})`;
    }
    default:
      throw new Unsupported(`${c.op} on a trait or property`);
  }
}

function order(d: RuleDialect, place: JsonPlace, op: OrderOp, lit: Scalar): Fragment {
  if (typeof lit === 'number') return sql`(${d.isType(place, 'number')} AND ${d.numberAt(place)} ${raw(op)} ${d.num(lit)})`;
  if (typeof lit !== 'string') return FALSE;
  // Code-point order (SQL) equals JavaScript's code-unit order when the literal has no character at or
  // above U+D800: the first difference then always involves one of the literal's plain characters.
  if (/[\uD800-\uFFFF]/.test(lit)) throw new Unsupported('ordering text beyond U+D7FF');
  return sql`(${d.isType(place, 'string')} AND ${d.orderText(d.textAt(place), op, lit)})`;
}
