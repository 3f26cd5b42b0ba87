/**
 * What customers do: one call to `Business.session(t0)` plays one session of one customer (a web or
 * app visit with its funnel, an e-mail or SMS touch, a survey answer, an account change) and returns
 * its messages in time order, followed by what it causes later (refunds, post-purchase surveys, cart
 * reminder e-mails). Customer state (registered, logged-in devices, consent, plan) lives in the
 * population's typed arrays, so later sessions continue the story.
 */
import { APP_VERSION, BLOG_POSTS, REFUND_REASONS, SEARCH_TERMS } from './data.ts';
import { REFERRERS, type Referrer } from './devices.ts';
import { Catalog, cents, localPrice, type Product } from './catalog.ts';
import { CustomerSession } from './customer-session.ts';
import type { DemoMessage, ExternalId } from './messages.ts';
import { C_EMAIL, C_SMS, F_CONSENT_SET, F_GROUPED, F_ORDERED, F_REGISTERED, type Device, type Population } from './population.ts';
import type { Random } from './random.ts';
import type { Timeline } from './timeline.ts';

interface CartLine {
  product: Product;
  price: number;
  quantity: number;
}

export class Business extends CustomerSession {
  private orderSeq = 0;

  constructor(
    rng: Random,
    pop: Population,
    readonly catalog: Catalog,
    private readonly timeline: Timeline,
  ) {
    super(rng, pop);
  }

  /** Play one session starting at `t0`; returns its messages (non-empty) and their times in ms. */
  session(t0: number): { msgs: DemoMessage[]; times: number[] } {
    const { rng, pop } = this;
    const ci = pop.pickIndex(this.timeline.regionAt(t0, rng.next()), rng.next());
    this.ci = ci;
    this.c = pop.customer(ci);
    this.e.begin(t0, this.c);
    const flags = pop.flags[ci] as number;
    const x = rng.next();
    if ((flags & F_REGISTERED) === 0) this.browse(null, null);
    else if (x < 0.2 && this.allows(C_EMAIL, true)) this.emailTouch();
    else if (x < 0.3 && this.c.phone !== null && this.allows(C_SMS, this.c.index % 10 < 4)) this.smsTouch();
    else if (x < 0.34 && ((flags & F_ORDERED) !== 0 || x < 0.32)) this.survey(0);
    else if (x < 0.355) this.accountUpdate();
    else this.browse(null, null);
    this.e.finish(this.timeline.endMs);
    const s = pop.sessions[ci] as number;
    if (s < 255) pop.sessions[ci] = s + 1;
    return { msgs: this.e.msgs, times: this.e.times };
  }

  // ---- browsing (web or app) ----

  protected browse(entry: Referrer | null, prefer: 'web' | 'mobile' | null): void {
    const { rng, pop, e, c, ci } = this;
    const di = this.pickDevice(prefer);
    const dev = c.devices[di] as Device;
    const bit = 1 << di;
    const app = dev.app !== null;
    e.device = dev;
    let loggedIn = ((pop.devLoggedIn[ci] as number) & bit) !== 0;
    e.userId = loggedIn ? c.userId : undefined;
    e.consent = this.flag(F_CONSENT_SET) ? (pop.consent[ci] as number) : -1;
    const first = ((pop.devSeen[ci] as number) & bit) === 0;
    pop.devSeen[ci] = (pop.devSeen[ci] as number) | bit;
    // An existing member is still signed in on their main device from before the demo window; the
    // site identifies them again when it loads.
    const returningMember = di === 0 && c.preexistingCreatedAt > 0 && !this.flag(F_REGISTERED);
    if (returningMember) {
      this.markRegistered();
      pop.devLoggedIn[ci] = (pop.devLoggedIn[ci] as number) | bit;
      loggedIn = true;
      e.userId = c.userId;
    }

    const cart: CartLine[] = [];
    const cartId = rng.uuid();
    let viewed: Product | null = null;
    if (app) {
      const version = { version: APP_VERSION.version, build: APP_VERSION.build };
      if (first) e.track('Application Installed', { ...version });
      e.track('Application Opened', {
        from_background: !first && rng.chance(0.35),
        ...version,
        ...(entry?.campaign ? { url: `northwind://home?utm_source=${entry.campaign.source}` } : {}),
      });
      e.wait(1200, 100);
      e.screen('Home');
    } else {
      const ref = entry ?? rng.weighted(REFERRERS);
      e.land(ref.url, ref.campaign);
      const utm = ref.campaign
        ? `?utm_source=${ref.campaign.source}&utm_medium=${ref.campaign.medium}&utm_campaign=${ref.campaign.name}`
        : '';
      const l = rng.next();
      if (l < 0.5) e.page('Home', '/', 'Northwind Outfitters — Outdoor & everyday gear', utm);
      else if (l < 0.75) viewed = this.viewProduct(this.pickProduct(), utm);
      else if (l < 0.9) this.category(utm);
      else if (l < 0.95) e.page('Pricing', '/pricing', 'Membership plans | Northwind', utm);
      else e.page('Blog', `/journal/${rng.pick(BLOG_POSTS)}`, 'The Trail Journal | Northwind', utm);
    }
    if (returningMember) {
      e.wait(300, 20);
      e.identify(this.traits(true));
      if (!this.flag(F_GROUPED)) this.groupCall();
    }
    if (!this.flag(F_CONSENT_SET) && rng.chance(c.region.consentRate)) this.consentChoice(null);
    else if (this.flag(F_CONSENT_SET) && rng.chance(0.006)) this.consentChoice(pop.consent[ci] as number);

    // Many visits bounce after the landing page; the rest browse for a while.
    const actions = rng.chance(app ? 0.25 : 0.4) ? 0 : Math.min(25, 1 + Math.floor(rng.exponential(c.engagement)));
    const loginStep = rng.int(0, actions - 1);
    for (let i = 0; i < actions; i++) {
      e.wait(app ? 14_000 : 22_000, 1500);
      if (i === loginStep && !loggedIn) loggedIn = this.maybeLogIn(bit, false);
      else if (i === loginStep && rng.chance(0.12)) e.identify(this.traits(false));
      const a = rng.next();
      if (a < 0.24) this.category('');
      else if (a < 0.34) {
        const q = rng.pick(SEARCH_TERMS);
        e.track('Products Searched', { query: q });
        if (app) e.screen('Search Results', { query: q });
        else e.page('Search', '/search', 'Search results | Northwind', `?q=${encodeURIComponent(q)}`);
      } else if (a < 0.76) {
        viewed = this.viewProduct(this.pickProduct(), '');
        if (rng.chance(c.vip ? 0.55 : 0.3)) {
          e.wait(9000, 800);
          cart.push(this.addToCart(viewed, cartId));
        }
      } else if (a < 0.81) {
        if (app) e.screen('Membership');
        else e.page('Pricing', '/pricing', 'Membership plans | Northwind');
      } else if (a < 0.86) {
        if (app) e.screen('Journal');
        else e.page('Blog', `/journal/${rng.pick(BLOG_POSTS)}`, 'The Trail Journal | Northwind');
      } else if (a < 0.9 && loggedIn) {
        if (app) e.screen('Orders');
        else e.page('Account', '/account/orders', 'Your orders | Northwind');
      } else if (a < 0.96 && cart.length > 0) {
        if (app) e.screen('Cart');
        else e.page('Cart', '/cart', 'Your cart | Northwind');
        e.track('Cart Viewed', { cart_id: cartId, products: cart.map((l) => this.line(l)) });
        if (rng.chance(0.15) && cart.length > 1) {
          const removed = cart.pop() as CartLine;
          e.track('Product Removed', { cart_id: cartId, ...this.line(removed) });
        }
      } else if (app) e.screen('Home');
      else e.page('Home', '/', 'Northwind Outfitters — Outdoor & everyday gear');
    }
    if (viewed !== null && rng.chance(0.02) && loggedIn) e.track('Product Added to Wishlist', { product_id: viewed.id, name: viewed.name });
    if (cart.length > 0 && rng.chance(c.vip ? 0.75 : 0.4)) {
      if (!loggedIn) loggedIn = this.maybeLogIn(bit, true);
      if (this.checkout(cart, cartId, loggedIn, dev)) return;
    }
    if (cart.length > 0 && loggedIn && this.allows(C_EMAIL, true) && rng.chance(0.35))
      this.cartReminder((cart[0] as CartLine).product.name);
    else if (loggedIn && !app && rng.chance(0.03)) {
      e.wait(4000, 500);
      this.survey(0);
    }
  }

  /** A product by popularity; big spenders lean to the pricier of two. */
  private pickProduct(): Product {
    const p = this.catalog.pick(this.rng);
    if (!this.c.vip) return p;
    const q = this.catalog.pick(this.rng);
    return q.priceUsd > p.priceUsd ? q : p;
  }

  private category(search: string): void {
    const { e, rng } = this;
    const cat = this.catalog.pick(rng).category;
    if (e.device?.app) e.screen('Product List', { category: cat.name });
    else e.page('Category', `/collections/${cat.slug}`, `${cat.name} | Northwind`, search);
    if (rng.chance(0.4)) {
      e.wait(400, 20);
      e.track('Product List Viewed', { list_id: cat.slug, category: cat.name });
    }
  }

  private viewProduct(p: Product, search: string): Product {
    const { e, c } = this;
    const price = localPrice(p.priceUsd, c.country.fx);
    if (e.device?.app) e.screen('Product Detail', { product_id: p.id });
    else e.page('Product', `/products/${p.slug}`, `${p.name} | Northwind`, search);
    e.wait(2500, 200);
    e.track('Product Viewed', {
      product_id: p.id,
      sku: p.sku,
      category: p.category.name,
      name: p.name,
      brand: 'Northwind',
      price,
      currency: c.country.currency,
      url: `https://shop.northwind.example/products/${p.slug}`,
    });
    return p;
  }

  private addToCart(p: Product, cartId: string): CartLine {
    const line: CartLine = {
      product: p,
      price: localPrice(p.priceUsd, this.c.country.fx),
      quantity: this.rng.chance(this.c.vip ? 0.6 : 0.85) ? 1 : this.rng.int(2, 4),
    };
    this.e.track('Product Added', { cart_id: cartId, ...this.line(line), currency: this.c.country.currency });
    return line;
  }

  private line(l: CartLine): Record<string, unknown> {
    return {
      product_id: l.product.id,
      sku: l.product.sku,
      category: l.product.category.name,
      name: l.product.name,
      price: l.price,
      quantity: l.quantity,
    };
  }

  /** Returns whether the order was completed. */
  private checkout(cart: CartLine[], cartId: string, loggedIn: boolean, dev: Device): boolean {
    const { e, rng, c } = this;
    const currency = c.country.currency;
    e.wait(20_000, 2000);
    if (dev.app) e.screen('Checkout');
    else e.page('Checkout', '/checkout', 'Checkout | Northwind');
    const subtotal = cents(cart.reduce((s, l) => s + l.price * l.quantity, 0));
    const coupon = rng.chance(0.15) ? rng.pick(['WELCOME10', 'TRAIL15', 'FRIENDS10']) : null;
    const discount = coupon === null ? 0 : cents(subtotal * (coupon === 'TRAIL15' ? 0.15 : 0.1));
    const revenue = cents(subtotal - discount);
    const checkoutId = rng.uuid();
    // Each message gets its own copies (no object is shared between two messages).
    const products = (): Array<Record<string, unknown>> => cart.map((l) => this.line(l));
    e.track('Checkout Started', { checkout_id: checkoutId, cart_id: cartId, value: subtotal, revenue, currency, products: products() });
    if (!rng.chance(c.vip ? 0.85 : 0.62)) return false;
    e.wait(70_000, 8000);
    const shipping = revenue >= 75 * c.country.fx ? 0 : cents(6.95 * c.country.fx);
    const tax = c.region.key === 'americas' ? cents(revenue * 0.0825) : 0;
    const orderNo = ++this.orderSeq;
    const orderId = `ORD-${100_000 + orderNo}`;
    const props: Record<string, unknown> = {
      order_id: orderId,
      checkout_id: checkoutId,
      total: cents(revenue + shipping + tax),
      revenue,
      shipping,
      tax,
      discount,
    };
    if (coupon !== null) props.coupon = coupon;
    props.currency = currency;
    props.products = products();
    const ext: ExternalId[] | null =
      loggedIn && rng.chance(0.4) ? [{ id: c.email, type: 'email', collection: 'users', encoding: 'none' }] : null;
    e.serverTrack(
      'Order Completed',
      props,
      loggedIn ? { userId: c.userId } : { anonymousId: dev.anonymousId },
      rng.chance(0.7) ? dev.ip : null,
      ext,
    );
    e.wait(1200, 300);
    if (dev.app) e.screen('Order Confirmation', { order_id: orderId });
    else e.page('Order Confirmation', '/checkout/thank-you', 'Thank you for your order | Northwind', `?order=${orderId}`);
    if (loggedIn) this.setFlag(F_ORDERED);
    const ids = loggedIn ? { userId: c.userId } : { anonymousId: dev.anonymousId };
    if (c.phone !== null && this.allows(C_SMS, c.index % 10 < 4)) {
      const phone = c.phone.e164;
      const sid = `SM${rng.hex(32)}`;
      e.later(e.t + rng.int(20_000, 180_000), () =>
        e.serverTrack(
          'SMS Delivered',
          { campaign_id: 'sms_order_confirmation', campaign_name: 'Order Confirmation', message_sid: sid },
          ids,
          null,
          [{ id: phone, type: 'phone', collection: 'users', encoding: 'none' }],
        ),
      );
    }
    const refunded = rng.chance(0.1);
    if (refunded) {
      const reason = rng.pick(REFUND_REASONS);
      e.later(e.t + rng.int(3, 21) * 86_400_000 + rng.int(0, 86_399_999), () =>
        e.serverTrack('Order Refunded', { order_id: orderId, total: props.total, currency, products: products(), reason }, ids),
      );
    }
    if (loggedIn && rng.chance(0.25))
      e.later(e.t + rng.int(5, 12) * 86_400_000 + rng.int(0, 86_399_999), () => this.survey(refunded ? -3 : 0));
    return true;
  }
}
