/** Definitions several tests share. */

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
