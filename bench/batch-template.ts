/**
 * A realistic Segment batch (~545 bytes an event, like the captured SDK traffic): page views, product
 * events, identifies. `stampBatch` makes each request's copy unique and current, as an SDK's would be:
 * every messageId `ajs-next-<ms>-<unique>` (analytics.js's form, as captured from the SDK) and every
 * timestamp the time of sending; and it gives the events to a rolling population of visitors: each of
 * the 8 templates' 100 event slots stands for one visitor (800 at any time), who sends 20 events over 160
 * requests (1.6 s at 10k events/s) and is then replaced by a visitor never seen before. The slots are
 * replaced one after another, not together (`cohortOf`): 5% of the events come from a new visitor, spread
 * evenly in time, about one new visitor every 2 ms at 10k events/s, and no history grows without end.
 *
 * Until session 11 every request carried the template's creation time and the same 800 visitors (8
 * templates × 100 events): all events of a run had one timestamp, which the store's (type, name, ts, …)
 * index took in random order, and each visitor sent a dozen events a second, so every profile's history
 * grew by hundreds of events in a run — neither is what live traffic looks like. In session 11 the
 * population rolled, but all 800 visitors were replaced at once every 1.6 s: a burst of 800 new profiles
 * within 80 ms, which the audience runner took 100–200 ms to write, every 1.6 s (session 12).
 */
const EVENTS = ['Product Viewed', 'Product Added', 'Products Searched', 'Checkout Started', 'Order Completed', 'Email Opened'];

/** Stands for the time of sending in a template (replaced by `stampBatch`; the same length as any ISO time). */
const TEMPLATE_TIME = '2000-01-01T00:00:00.000Z';
/** Requests a visitor's slot keeps the same visitor for (20 of them carry the slot's template). */
const REQUESTS_PER_VISITOR = 160;

/**
 * Which visitor fills event slot `slot` (of `size`) in request number `n`: the slot's generation, a new
 * one every 160 requests, each slot starting its generations at its own offset so that replacements are
 * spread evenly over the 160 requests.
 */
export function cohortOf(n: number, slot: number, size: number): number {
  return Math.floor((n + Math.floor((slot * REQUESTS_PER_VISITOR) / size)) / REQUESTS_PER_VISITOR);
}

export function makeBatchTemplate(size: number, variant: number): string {
  const now = TEMPLATE_TIME;
  const batch = Array.from({ length: size }, (_, i) => {
    const k = variant * 7919 + i * 104_729;
    // `@@P<i>@@`: the generation of the visitor in slot i (see `stampBatch`).
    const p = `@@P${i}@@`;
    const user = k % 3 === 0 ? { userId: `user-${p}.${k % 50_000}` } : {};
    const base = {
      anonymousId: `anon-${p}.${(k * 31) % 200_000}-5f2c0e`,
      ...user,
      messageId: `ajs-next-@@B@@-${i}`,
      timestamp: now,
      context: {
        library: { name: 'analytics.js', version: 'npm:next-1.84.3' },
        ip: `10.${k % 255}.${(k >> 8) % 255}.7`,
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36',
        locale: 'en-US',
        page: { path: '/products/sku-' + (k % 977), url: 'https://shop.example/products/sku-' + (k % 977), title: 'Product' },
      },
      integrations: {},
    };
    if (i % 10 === 0)
      return { ...base, type: 'identify', traits: { email: `user${p}.${k % 50_000}@example.com`, plan: k % 4 === 0 ? 'pro' : 'free' } };
    if (i % 3 === 0) return { ...base, type: 'page', name: 'Product', properties: { path: base.context.page.path, title: 'Product' } };
    const event = EVENTS[k % EVENTS.length]!;
    return {
      ...base,
      type: 'track',
      event,
      properties: { product_id: `sku-${k % 977}`, price: (k % 20_000) / 100, currency: 'USD', cart_id: `c-${k % 9999}` },
    };
  });
  return JSON.stringify({ batch, sentAt: now, writeKey: undefined });
}

/**
 * A copy of a template of `size` events, sent at `at` (ms) as request number `n`: unique messageIds
 * (`batchId`: unique per request), current timestamps, the visitors of that moment in each slot.
 */
export function stampBatch(template: string, size: number, batchId: string, at: number, n: number): string {
  return template
    .replaceAll(TEMPLATE_TIME, new Date(at).toISOString())
    .replaceAll('@@B@@', `${at}-${batchId}`)
    .replace(/@@P(\d+)@@/g, (_, slot: string) => String(cohortOf(n, Number(slot), size)));
}
