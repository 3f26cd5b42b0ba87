/**
 * SQL text with its parameters, built together so they can never drift apart. Values become `?`
 * placeholders (the storage connection numbers them for PostgreSQL); nested fragments are inlined.
 */

/** A value bound as a parameter. Booleans are never bound: better-sqlite3 refuses them. */
export type Param = string | number;

export interface Fragment {
  readonly sql: string;
  readonly params: readonly Param[];
}

const isFragment = (v: unknown): v is Fragment => typeof v === 'object' && v !== null && 'sql' in v && 'params' in v;

/** `sql\`a = ${1} AND ${other}\``: values become parameters, fragments are inlined with theirs. */
export function sql(strings: TemplateStringsArray, ...values: ReadonlyArray<Param | Fragment>): Fragment {
  let text = strings[0] ?? '';
  const params: Param[] = [];
  values.forEach((v, i) => {
    if (isFragment(v)) {
      text += v.sql;
      params.push(...v.params);
    } else {
      text += '?';
      params.push(v);
    }
    text += strings[i + 1] ?? '';
  });
  return { sql: text, params };
}

/** Fixed SQL text (keywords, column names chosen by the compiler — never user input). */
export function raw(text: string): Fragment {
  return { sql: text, params: [] };
}

/** Fragments joined by a separator (`' AND '`, `', '`…). */
export function join(parts: readonly Fragment[], separator: string): Fragment {
  return { sql: parts.map((p) => p.sql).join(separator), params: parts.flatMap((p) => p.params) };
}
