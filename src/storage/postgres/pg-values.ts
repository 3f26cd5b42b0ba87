/**
 * Multi-row `INSERT … VALUES ($1, …), (…)` with one parameter per value. For rows carrying large text
 * (event payloads) this is several times cheaper than `unnest` of arrays: the driver serialises an array
 * parameter as one literal, escaping every quote of every element in JavaScript, and the server parses
 * it back; separate parameters travel as they are. (Measured here: 2,500 ~1 KB payloads cost ~65 ms of
 * driver CPU as arrays, ~12 ms as parameters.) Rows are inserted in the order given.
 */
import type pg from 'pg';

type Db = Pick<pg.PoolClient, 'query'>;

/** PostgreSQL accepts at most 65,535 parameters in one statement. */
const MAX_PARAMETERS = 65_535;
/**
 * Rows per statement at most. Much larger statements cost far more per row on both sides: 60,000 events
 * of ~1 KB inserted 5,000 rows a statement took 4.1–4.4 s here (and 1.3–1.5 s of driver CPU, growing its
 * buffer), 1,000 a statement 1.2–1.4 s (0.3–0.6 s), as fast as `COPY` of the same rows in the same run.
 */
const MAX_ROWS = 1_000;

/**
 * Full chunks go as named (prepared) statements: PostgreSQL then parses each shape once per connection and,
 * after its first few runs, keeps a generic plan. Unnamed, every 1,000-row event insert was parsed and
 * planned again at bind: in the processor alone on the demo (60,000 events), bind took 1.6 s of the
 * server's time and execution 1.6 s (`log_min_duration_statement`; docs/benchmarks-history.md, session 21).
 * Only full chunks are named, so a connection holds at most one such statement per shape; the last,
 * shorter chunk of a batch goes unnamed.
 */
const statementNames = new Map<string, string>();

/** `($1, …), (…)` for `rows` rows of `width` values. */
function placeholders(width: number, rows: number, casts?: readonly string[]): string {
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++) {
    const cells: string[] = [];
    for (let i = 0; i < width; i++) {
      const n = r * width + i + 1;
      cells.push(casts ? `$${n}::${casts[i]}` : `$${n}`);
    }
    tuples.push(`(${cells.join(', ')})`);
  }
  return tuples.join(', ');
}

/** The placeholders of full chunks, built once per shape (a handful); shorter chunks' are built each time. */
const fullChunkPlaceholders = new Map<string, string>();
function fullChunk(width: number, rows: number, casts?: readonly string[]): string {
  const key = `${width}|${rows}|${casts?.join(',') ?? ''}`;
  let list = fullChunkPlaceholders.get(key);
  if (list === undefined) {
    list = placeholders(width, rows, casts);
    fullChunkPlaceholders.set(key, list);
  }
  return list;
}

/**
 * Run `statement(values)` once per chunk of rows, where `values` is `($1, …), (…)` for that chunk;
 * `casts` (one per column) type the placeholders where the statement gives them no type (`FROM (VALUES …)`).
 */
export async function withValues(
  c: Db,
  rows: ReadonlyArray<readonly unknown[]>,
  statement: (values: string) => string,
  casts?: readonly string[],
): Promise<void> {
  const width = rows[0]?.length ?? 0;
  if (width === 0) return;
  const perStatement = Math.min(MAX_ROWS, Math.floor(MAX_PARAMETERS / width));
  for (let start = 0; start < rows.length; start += perStatement) {
    const chunk = rows.slice(start, start + perStatement);
    const params: unknown[] = [];
    for (const row of chunk) params.push(...row);
    if (chunk.length < perStatement) {
      await c.query(statement(placeholders(width, chunk.length, casts)), params);
      continue;
    }
    const text = statement(fullChunk(width, chunk.length, casts));
    let name = statementNames.get(text);
    if (name === undefined) {
      name = `tessera_rows_${statementNames.size + 1}`;
      statementNames.set(text, name);
    }
    await c.query({ name, text, values: params });
  }
}

/** `head VALUES (…), (…) tail` over the rows, in as few statements as the parameter limit allows. */
export function insertRows(c: Db, head: string, rows: ReadonlyArray<readonly unknown[]>, tail = ''): Promise<void> {
  return withValues(c, rows, (values) => `${head} VALUES ${values} ${tail}`);
}
