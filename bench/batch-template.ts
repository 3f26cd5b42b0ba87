/**
 * A realistic Segment batch (~545 bytes an event, like the captured SDK traffic): page views, product
 * events, identifies. `stampBatch` makes each request's copy unique and current, as an SDK's would be:
 * every messageId `ajs-next-<ms>-<unique>` (analytics.js's form, as captured from the SDK) and every
 * timestamp the time of sending; and it gives the request's 100 events to the visitors of one cohort
 * (`cohortOf`): 800 visitors (users, their anonymous ids, their e-mails), each sending 20 events over the
 * 160 requests of their cohort (1.6 s at 10k events/s), after which the next cohort's visitors take over.
 * So 5% of the events come from a visitor never seen before, steadily, and no history grows without end.
 *
 * Until session 11 every request carried the template's creation time and the same 800 visitors (8
 * templates × 100 events): all events of a run had one timestamp, which the store's (type, name, ts, …)
 * index took in random order, and each visitor sent a dozen events a second, so every profile's history
 * grew by hundreds of events in a run — neither is what live traffic looks like.
 */
const EVENTS = ['Product Viewed', 'Product Added', 'Products Searched', 'Checkout Started', 'Order Completed', 'Email Opened'];

/** Stands for the time of sending in a template (replaced by `stampBatch`; the same length as any ISO time). */
const TEMPLATE_TIME = '2000-01-01T00:00:00.000Z';
/** Requests in a row whose events come from one cohort of visitors (the templates' 800 under other ids). */
const REQUESTS_PER_COHORT = 160;

/** The cohort of visitors of request number `n`. */
export function cohortOf(n: number): number {
  return Math.floor(n / REQUESTS_PER_COHORT);
}

export function makeBatchTemplate(size: number, variant: number): string {
  const now = TEMPLATE_TIME;
  const batch = Array.from({ length: size }, (_, i) => {
    const k = variant * 7919 + i * 104_729;
    const user = k % 3 === 0 ? { userId: `user-@@P@@.${k % 50_000}` } : {};
    const base = {
      anonymousId: `anon-@@P@@.${(k * 31) % 200_000}-5f2c0e`,
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
      return { ...base, type: 'identify', traits: { email: `user@@P@@.${k % 50_000}@example.com`, plan: k % 4 === 0 ? 'pro' : 'free' } };
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

/** A template's copy sent at `at` (ms): unique messageIds (`batchId`: unique per request), current timestamps, `cohort`'s visitors. */
export function stampBatch(template: string, batchId: string, at: number, cohort: number): string {
  return template
    .replaceAll(TEMPLATE_TIME, new Date(at).toISOString())
    .replaceAll('@@B@@', `${at}-${batchId}`)
    .replaceAll('@@P@@', String(cohort));
}
