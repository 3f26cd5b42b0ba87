/**
 * A realistic Segment batch (~545 bytes an event, like the captured SDK traffic): page views, product
 * events, identifies, from a pool of users and anonymous visitors. `@@B@@` in every messageId is
 * replaced by a unique batch number per request.
 */
const EVENTS = ['Product Viewed', 'Product Added', 'Products Searched', 'Checkout Started', 'Order Completed', 'Email Opened'];

export function makeBatchTemplate(size: number, variant: number): string {
  const now = new Date().toISOString();
  const batch = Array.from({ length: size }, (_, i) => {
    const k = variant * 7919 + i * 104_729;
    const user = k % 3 === 0 ? { userId: `user-${k % 50_000}` } : {};
    const base = {
      anonymousId: `anon-${(k * 31) % 200_000}-5f2c0e`,
      ...user,
      messageId: `@@B@@-${i}`,
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
      return { ...base, type: 'identify', traits: { email: `user${k % 50_000}@example.com`, plan: k % 4 === 0 ? 'pro' : 'free' } };
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
