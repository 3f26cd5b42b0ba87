/**
 * The processor's de-duplication claim on PostgreSQL: a batch's (source, messageId) keys inserted in one
 * statement, before the batch takes the commit lock (`PostgresStore.runBatch`).
 */
import type pg from 'pg';
import type { EventToStore } from '../store.ts';

/**
 * Claim de-duplication keys for a batch in one statement; answers the ordinals (1-based) of the events
 * that are new. Keys are matched inside PostgreSQL, after the driver has encoded the strings: a lone
 * surrogate in a messageId becomes U+FFFD on the way in, so matching RETURNING rows against the
 * JavaScript input would misjudge such events. DISTINCT ON keeps the first occurrence of a repeated key.
 */
const CLAIM_SQL = `
  WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(source_id, message_id, ord)
  ),
  firsts AS (
    SELECT DISTINCT ON (source_id, message_id) * FROM input ORDER BY source_id, message_id, ord
  ),
  fresh AS (
    INSERT INTO dedup (source_id, message_id, seen_at)
    SELECT source_id, message_id, $3::bigint FROM firsts
    ON CONFLICT DO NOTHING
    RETURNING source_id, message_id
  )
  SELECT f.ord FROM firsts f JOIN fresh USING (source_id, message_id)`;

/**
 * Claim the keys of `events`; per event, whether it is new. Keys are inserted in key order (`firsts` is
 * sorted), so two batches claiming overlapping keys at once wait for each other in one order and cannot
 * deadlock; a key another batch claimed and has not committed waits for that batch's end.
 */
export async function claimDedupKeys(c: pg.ClientBase, events: readonly EventToStore[], now: number): Promise<boolean[]> {
  const fresh = new Array<boolean>(events.length).fill(false);
  if (events.length === 0) return fresh;
  const rows = await c.query<{ ord: number }>(CLAIM_SQL, [events.map((e) => e.event.sourceId), events.map((e) => e.event.messageId), now]);
  for (const r of rows.rows) fresh[r.ord - 1] = true;
  return fresh;
}
