/**
 * What customers do: one call to `Business.session(t0)` plays one session of one customer (a web or
 * app visit with its funnel, an e-mail or SMS touch, a refund, a survey answer, an account change)
 * and returns its messages in time order. Customer state (registered, logged-in devices, consent,
 * last order) lives in the population's typed arrays, so later sessions continue the story.
 */
import { APP_VERSION, BLOG_POSTS, EMAIL_CAMPAIGNS, NPS_COMMENTS, NPS_QUESTION, PLANS, REFERRERS, REFUND_REASONS, SEARCH_TERMS, type Referrer } from './data.ts';
import { Catalog, cents, localPrice, type Product } from './catalog.ts';
import { Emitter, type DemoMessage, type ExternalId } from './messages.ts';
import { C_ADVERTISING, C_ANALYTICS, C_EMAIL, C_SMS, F_CONSENT_SET, F_GROUPED, F_ORDERED, F_REFUND_DUE, F_REGISTERED, Population, type Customer, type Device } from './population.ts';
import { Random } from './random.ts';
import type { Timeline } from './timeline.ts';

interface CartLine {
  product: Product;
  price: number;
  quantity: number;
}

const WEEK_MS = 7 * 86_400_000;
const EPOCH_SUNDAY = Date.UTC(2020, 0, 5);

function emailVariant(email: string, rng: Random): string {
  const x = rng.next();
  if (x < 0.86) return email;
  if (x < 0.94) return email.replace(/(^|[._@])([a-z])/g, (_, sep: string, ch: string) => sep + ch.toUpperCase());
  return email.toUpperCase();
}

export class Business {
  private readonly e: Emitter;
  private ci = 0;
  private c!: Customer;
  private orderSeq = 0;

  constructor(
    private readonly rng: Random,
    readonly pop: Population,
    readonly catalog: Catalog,
    private readonly timeline: Timeline,
  ) {
    this.e = new Emitter(rng);
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
    else if ((flags & F_REFUND_DUE) !== 0 && x < 0.06) this.refund();
    else if (x < 0.13 && this.allows(C_EMAIL, true)) this.emailTouch();
    else if (x < 0.16 && this.c.phone !== null && this.allows(C_SMS, this.c.index % 10 < 3)) this.smsTouch();
    else if (x < 0.18 && (flags & F_ORDERED) !== 0) this.survey();
    else if (x < 0.195) this.accountUpdate();
    else this.browse(null, null);
    const s = pop.sessions[ci] as number;
    if (s < 65535) pop.sessions[ci] = s + 1;
    return { msgs: this.e.msgs, times: this.e.times };
  }

  private flag(bit: number): boolean {
    return ((this.pop.flags[this.ci] as number) & bit) !== 0;
  }

  private setFlag(bit: number, on = true): void {
    const f = this.pop.flags[this.ci] as number;
    this.pop.flags[this.ci] = on ? f | bit : f & ~bit;
  }

  private allows(bit: number, whenUnset: boolean): boolean {
    return this.flag(F_CONSENT_SET) ? ((this.pop.consent[this.ci] as number) & bit) !== 0 : whenUnset;
  }

  private pickDevice(prefer: 'web' | 'mobile' | null): number {
    const devices = this.c.devices;
    let total = 0;
    const ok = (d: Device): boolean =>
      prefer === null || (prefer === 'web' ? d.app === null : d.kind === 'mobileWeb' || d.app !== null);
    for (const d of devices) if (ok(d)) total += d.weight;
    if (total === 0) return 0;
    let u = this.rng.next() * total;
    for (let i = 0; i < devices.length; i++) {
      const d = devices[i] as Device;
      if (!ok(d)) continue;
      u -= d.weight;
      if (u < 0) return i;
    }
    return 0;
  }

  // ---- browsing (web or app) ----

  private browse(entry: Referrer | null, prefer: 'web' | 'mobile' | null): void {
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

    const cart: CartLine[] = [];
    const cartId = rng.uuid();
    let viewed: Product | null = null;
    if (app) {
      const version = { version: APP_VERSION.version, build: APP_VERSION.build };
      if (first) e.track('Application Installed', { ...version });
      e.track('Application Opened', { from_background: !first && rng.chance(0.35), ...version, ...(entry?.campaign ? { url: `northwind://home?utm_source=${entry.campaign.source}` } : {}) });
      e.wait(1200, 100);
      e.screen('Home');
    } else {
      const ref = entry ?? rng.weighted(REFERRERS);
      e.land(ref.url, ref.campaign);
      const utm = ref.campaign ? `?utm_source=${ref.campaign.source}&utm_medium=${ref.campaign.medium}&utm_campaign=${ref.campaign.name}` : '';
      const l = rng.next();
      if (l < 0.5) e.page('Home', '/', 'Northwind Outfitters — Outdoor & everyday gear', utm);
      else if (l < 0.75) viewed = this.viewProduct(this.catalog.pick(rng), utm);
      else if (l < 0.9) this.category(utm);
      else if (l < 0.95) e.page('Pricing', '/pricing', 'Membership plans | Northwind', utm);
      else e.page('Blog', `/journal/${rng.pick(BLOG_POSTS)}`, 'The Trail Journal | Northwind', utm);
    }
    if (!this.flag(F_CONSENT_SET) && rng.chance(c.region.consentRate)) this.consentChoice(null);
    else if (this.flag(F_CONSENT_SET) && rng.chance(0.006)) this.consentChoice(pop.consent[ci] as number);

    const actions = Math.min(25, 1 + Math.floor(rng.exponential(c.engagement)));
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
        viewed = this.viewProduct(this.catalog.pick(rng), '');
        if (rng.chance(0.3)) {
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
    if (cart.length > 0 && rng.chance(0.4)) {
      if (!loggedIn) loggedIn = this.maybeLogIn(bit, true);
      this.checkout(cart, cartId, loggedIn, dev);
    }
  }

  private category(search: string): void {
    const { e, rng } = this;
    const cat = this.catalog.pick(rng).category;
    if (e.device?.app) e.screen('Product List', { category: cat.name });
    else e.page('Category', `/collections/${cat.slug}`, `${cat.name} | Northwind`, search);
    if (rng.chance(0.4)) e.track('Product List Viewed', { list_id: cat.slug, category: cat.name });
  }

  private viewProduct(p: Product, search: string): Product {
    const { e, c } = this;
    const price = localPrice(p.priceUsd, c.country.fx);
    if (e.device?.app) e.screen('Product Detail', { product_id: p.id });
    else e.page('Product', `/products/${p.slug}`, `${p.name} | Northwind`, search);
    e.wait(2500, 200);
    e.track('Product Viewed', { product_id: p.id, sku: p.sku, category: p.category.name, name: p.name, brand: 'Northwind', price, currency: c.country.currency, url: `https://shop.northwind.example/products/${p.slug}` });
    return p;
  }

  private addToCart(p: Product, cartId: string): CartLine {
    const line: CartLine = { product: p, price: localPrice(p.priceUsd, this.c.country.fx), quantity: this.rng.chance(0.85) ? 1 : this.rng.int(2, 4) };
    this.e.track('Product Added', { cart_id: cartId, ...this.line(line), currency: this.c.country.currency });
    return line;
  }

  private line(l: CartLine): Record<string, unknown> {
    return { product_id: l.product.id, sku: l.product.sku, category: l.product.category.name, name: l.product.name, price: l.price, quantity: l.quantity };
  }

  private checkout(cart: CartLine[], cartId: string, loggedIn: boolean, dev: Device): void {
    const { e, rng, c, pop, ci } = this;
    const currency = c.country.currency;
    e.wait(20_000, 2000);
    if (dev.app) e.screen('Checkout');
    else e.page('Checkout', '/checkout', 'Checkout | Northwind');
    const subtotal = cents(cart.reduce((s, l) => s + l.price * l.quantity, 0));
    const coupon = rng.chance(0.15) ? rng.pick(['WELCOME10', 'TRAIL15', 'FRIENDS10']) : null;
    const discount = coupon === null ? 0 : cents(subtotal * (coupon === 'TRAIL15' ? 0.15 : 0.1));
    const revenue = cents(subtotal - discount);
    const checkoutId = rng.uuid();
    const products = cart.map((l) => this.line(l));
    e.track('Checkout Started', { checkout_id: checkoutId, cart_id: cartId, value: subtotal, revenue, currency, products });
    if (!rng.chance(0.62)) return;
    e.wait(70_000, 8000);
    const shipping = revenue >= 75 * c.country.fx ? 0 : cents(6.95 * c.country.fx);
    const tax = c.region.key === 'americas' ? cents(revenue * 0.0825) : 0;
    const orderNo = ++this.orderSeq;
    const orderId = `ORD-${100_000 + orderNo}`;
    const props: Record<string, unknown> = { order_id: orderId, checkout_id: checkoutId, total: cents(revenue + shipping + tax), revenue, shipping, tax, discount };
    if (coupon !== null) props.coupon = coupon;
    props.currency = currency;
    props.products = products;
    const ext: ExternalId[] | null = loggedIn && rng.chance(0.4) ? [{ id: c.email, type: 'email', collection: 'users', encoding: 'none' }] : null;
    e.serverTrack('Order Completed', props, loggedIn ? { userId: c.userId } : { anonymousId: dev.anonymousId }, rng.chance(0.7) ? dev.ip : null, ext);
    e.wait(1200, 300);
    if (dev.app) e.screen('Order Confirmation', { order_id: orderId });
    else e.page('Order Confirmation', '/checkout/thank-you', 'Thank you for your order | Northwind', `?order=${orderId}`);
    if (loggedIn) {
      pop.lastOrder[ci] = orderNo;
      pop.lastOrderCents[ci] = Math.round(revenue * 100);
      this.setFlag(F_ORDERED);
      this.setFlag(F_REFUND_DUE, rng.chance(0.11));
    }
  }

  // ---- identity ----

  private traits(full: boolean): Record<string, unknown> {
    const { c, rng, pop, ci } = this;
    const t: Record<string, unknown> = { email: emailVariant(c.email, rng) };
    if (full) {
      t.firstName = c.firstName;
      t.lastName = c.lastName;
      if (c.phone !== null && rng.chance(0.7)) {
        const f = rng.next();
        t.phone = f < 0.45 ? c.phone.e164 : f < 0.85 ? c.phone.national : c.phone.other;
      }
    }
    t.plan = PLANS[pop.plan[ci] as number];
    if (full) {
      t.createdAt = new Date((pop.createdAt[ci] as number) * 1000).toISOString();
      if (c.account !== null) t.company = { id: c.account.id, name: c.account.name };
    }
    return t;
  }

  /** Sign up or sign in on the current device when this customer would; returns whether the device is now logged in. */
  private maybeLogIn(bit: number, atCheckout: boolean): boolean {
    const { e, rng, c, pop, ci } = this;
    const app = e.device?.app != null;
    const registered = this.flag(F_REGISTERED);
    if (!registered) {
      if (!c.willRegister || (!atCheckout && ((pop.sessions[ci] as number) + 1 < c.registerAfter || !rng.chance(0.55)))) return false;
    } else if (!atCheckout && !rng.chance(0.35)) return false;
    const signUp = !registered && c.preexistingCreatedAt === 0;
    if (!app) e.page(signUp ? 'Sign Up' : 'Login', signUp ? '/account/register' : '/account/login', signUp ? 'Create account | Northwind' : 'Sign in | Northwind');
    e.wait(25_000, 3000);
    if (!registered) {
      pop.createdAt[ci] = c.preexistingCreatedAt || Math.floor(e.t / 1000);
      pop.plan[ci] = c.initialPlan;
      this.setFlag(F_REGISTERED);
    }
    pop.devLoggedIn[ci] = (pop.devLoggedIn[ci] as number) | bit;
    e.userId = c.userId;
    if (app && !registered && rng.chance(0.5)) e.alias((e.device as Device).anonymousId, c.userId);
    else if (!app && !registered && rng.chance(0.03)) e.alias((e.device as Device).anonymousId, c.userId);
    e.identify(this.traits(!registered || rng.chance(0.5)));
    e.track(signUp ? 'Signed Up' : 'Signed In', { method: rng.chance(0.8) ? 'email' : rng.pick(['google', 'apple']) });
    if (c.account !== null && (!this.flag(F_GROUPED) || rng.chance(0.15))) {
      const a = c.account;
      e.group(a.id, { name: a.name, industry: a.industry, employees: a.employees, plan: PLANS[Math.max(2, pop.plan[ci] as number)], website: a.website });
      this.setFlag(F_GROUPED);
    }
    return true;
  }

  private consentChoice(previous: number | null): void {
    const { e, rng, pop, ci } = this;
    let bits: number;
    if (previous !== null) bits = previous ^ [C_ADVERTISING, C_EMAIL, C_SMS][rng.int(0, 2)]!;
    else {
      const x = rng.next();
      const all = C_ANALYTICS | C_ADVERTISING | C_EMAIL | C_SMS;
      if (x < 0.55) bits = all;
      else if (x < 0.73) bits = all & ~C_ADVERTISING;
      else if (x < 0.82) bits = C_ANALYTICS | C_EMAIL;
      else if (x < 0.9) bits = C_ANALYTICS;
      else if (x < 0.96) bits = 0;
      else bits = rng.int(0, 15);
    }
    e.wait(5000, 500);
    pop.consent[ci] = bits;
    this.setFlag(F_CONSENT_SET);
    e.consent = bits;
    e.track('Segment Consent Preference Updated', {});
  }

  // ---- server-side touches ----

  private emailTouch(): void {
    const { e, rng, c } = this;
    const week = Math.floor((e.t - EPOCH_SUNDAY) / WEEK_MS);
    const k = rng.int(0, 1);
    const name = EMAIL_CAMPAIGNS[(week * 2 + k) % EMAIL_CAMPAIGNS.length] as string;
    const base = { email_id: rng.uuid(), campaign_id: `cmp_${week}_${k}`, campaign_name: name };
    const ext: ExternalId[] = [{ id: c.email, type: 'email', collection: 'users', encoding: 'none' }];
    const ids = { userId: c.userId };
    e.serverTrack('Email Opened', { ...base, email_subject: `${name}: picked for you, ${c.firstName}` }, ids, null, ext);
    if (!rng.chance(0.35)) return;
    e.wait(40_000, 2000);
    e.serverTrack('Email Link Clicked', { ...base, link_id: rng.hex(8), url: 'https://shop.northwind.example/collections/new' }, ids, null, ext);
    if (!rng.chance(0.8)) return;
    e.wait(2500, 300);
    this.browse({ url: '', campaign: { name: name.toLowerCase().replace(/ /g, '_'), source: 'newsletter', medium: 'email' } }, 'web');
  }

  private smsTouch(): void {
    const { e, rng, c } = this;
    const phone = c.phone as NonNullable<Customer['phone']>;
    const week = Math.floor((e.t - EPOCH_SUNDAY) / WEEK_MS);
    const base = { campaign_id: `sms_${week}`, campaign_name: rng.pick(['Flash Sale', 'Order Update', 'Back in Stock']) };
    const ext: ExternalId[] = [{ id: phone.e164, type: 'phone', collection: 'users', encoding: 'none' }];
    const ids = { userId: c.userId };
    e.serverTrack('SMS Delivered', { ...base, message_sid: `SM${rng.hex(32)}` }, ids, null, ext);
    if (!rng.chance(0.22)) return;
    e.wait(600_000, 5000);
    e.serverTrack('SMS Clicked', { ...base, url: 'https://shop.northwind.example/sale' }, ids, null, ext);
    if (!rng.chance(0.75)) return;
    e.wait(2000, 300);
    this.browse({ url: '', campaign: { name: base.campaign_name.toLowerCase().replace(/ /g, '_'), source: 'sms', medium: 'sms' } }, 'mobile');
  }

  private refund(): void {
    const { e, rng, c, pop, ci } = this;
    const total = (pop.lastOrderCents[ci] as number) / 100;
    e.serverTrack('Order Refunded', { order_id: `ORD-${100_000 + (pop.lastOrder[ci] as number)}`, total, currency: c.country.currency, reason: rng.pick(REFUND_REASONS) }, { userId: c.userId });
    this.setFlag(F_REFUND_DUE, false);
  }

  private survey(): void {
    const { e, rng, c } = this;
    const score = Math.max(0, Math.min(10, Math.round(rng.normal(3.5 + 7 * c.satisfaction, 1.4))));
    const props: Record<string, unknown> = { survey_id: 'nps', survey_name: 'Net Promoter Score', question: NPS_QUESTION, score };
    const comment = rng.pick(NPS_COMMENTS);
    if (comment !== '') props.comment = comment;
    e.serverTrack('Survey Answered', props, { userId: c.userId });
  }

  private accountUpdate(): void {
    const { e, rng, c, pop, ci } = this;
    const plan = pop.plan[ci] as number;
    const next = rng.chance(0.7) ? Math.min(3, plan + 1) : Math.max(0, plan - 1);
    pop.plan[ci] = next;
    e.serverIdentify(c.userId, { email: c.email, plan: PLANS[next], plan_changed_at: new Date(e.t).toISOString() });
  }
}
