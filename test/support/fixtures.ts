/** Definitions several tests share. */
import type { NormalizeContext } from '../../src/core/event/normalize.ts';

/** A computed trait: the person's `Order Completed` events in the last 30 days (as `POST /api/v1/computed-traits` takes it). */
export const ORDERS_IN_30_DAYS = {
  name: 'Orders in 30 days',
  definition: {
    kind: 'event_counter',
    key: 'orders_30d',
    event: { name: 'Order Completed' },
    window: { kind: 'within', amount: 30, unit: 'days' },
  },
} as const;

/** What `normalizeMessage` is told about a message's request: a plain single-message request by default. */
export function normalizeContext(over: Partial<NormalizeContext> = {}): NormalizeContext {
  const receivedAt = over.receivedAt ?? Date.parse('2026-11-29T12:00:00.000Z');
  return {
    sourceId: 'src',
    receivedAt,
    receivedAtIso: new Date(receivedAt).toISOString(),
    batchContext: undefined,
    batchIntegrations: undefined,
    batchSentAt: undefined,
    typeHint: null,
    fallbackMessageId: 'tessera-7-0',
    maxMessageBytes: 32_768,
    maxDepth: 32,
    ...over,
  };
}
