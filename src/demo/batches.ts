/**
 * Group messages into `/v1/batch` request bodies the way `@segment/analytics-node` flushes them:
 * `{ batch: [...], sentAt }`. `sentAt` is derived from the batch's last event time (a flush a moment
 * after it) so the output stays a pure function of the input.
 */
import type { DemoMessage } from './messages.ts';

export interface DemoBatch {
  batch: DemoMessage[];
  sentAt: string;
}

/** Segment's limit on messages per batch request. */
export const MAX_BATCH_MESSAGES = 2500;

/** Delay between the last event of a batch and its flush. */
const FLUSH_DELAY_MS = 25;

/** Lazily split `messages` into batches of `size` (the last one may be smaller). */
export function* toBatches(messages: Iterable<DemoMessage>, size: number): Generator<DemoBatch, void, undefined> {
  if (!Number.isInteger(size) || size < 1 || size > MAX_BATCH_MESSAGES) {
    throw new RangeError(`batch size must be an integer between 1 and ${MAX_BATCH_MESSAGES}`);
  }
  let batch: DemoMessage[] = [];
  let latest = Number.NEGATIVE_INFINITY;
  const flush = (): DemoBatch => {
    const sentAt = new Date((Number.isFinite(latest) ? latest : 0) + FLUSH_DELAY_MS).toISOString();
    const out = { batch, sentAt };
    batch = [];
    latest = Number.NEGATIVE_INFINITY;
    return out;
  };
  for (const m of messages) {
    batch.push(m);
    const t = Date.parse(m.timestamp);
    if (t > latest) latest = t;
    if (batch.length >= size) yield flush();
  }
  if (batch.length > 0) yield flush();
}
