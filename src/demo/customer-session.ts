/**
 * The part of a session that is about the customer rather than the shop: who they are on this
 * device (sign-up, sign-in, traits, groups, aliases), their consent choices, and the touches that
 * reach them from servers (marketing e-mail and SMS, NPS surveys, plan changes).
 */
import { EMAIL_CAMPAIGNS, NPS_COMMENTS, NPS_QUESTION, PLANS } from './data.ts';
import type { Referrer } from './devices.ts';
import { Emitter, type ExternalId } from './messages.ts';
import {
  C_ADVERTISING,
  C_ANALYTICS,
  C_EMAIL,
  C_SMS,
  F_CONSENT_SET,
  F_GROUPED,
  F_REGISTERED,
  type Customer,
  type Device,
  type Population,
} from './population.ts';
import type { Random } from './random.ts';

const WEEK_MS = 7 * 86_400_000;
const EPOCH_SUNDAY = Date.UTC(2020, 0, 5);

function emailVariant(email: string, rng: Random): string {
  const x = rng.next();
  if (x < 0.86) return email;
  if (x < 0.94) return email.replace(/(^|[._@])([a-z])/g, (_, sep: string, ch: string) => sep + ch.toUpperCase());
  return email.toUpperCase();
}

export abstract class CustomerSession {
  protected readonly e: Emitter;
  /** The current customer and their index in the population. */
  protected ci = 0;
  protected c!: Customer;

  constructor(
    protected readonly rng: Random,
    readonly pop: Population,
  ) {
    this.e = new Emitter(rng);
  }

  /** A web or app visit on one of the customer's devices (`entry` sets referrer and campaign). */
  protected abstract browse(entry: Referrer | null, prefer: 'web' | 'mobile' | null): void;

  protected flag(bit: number): boolean {
    return ((this.pop.flags[this.ci] as number) & bit) !== 0;
  }

  protected setFlag(bit: number, on = true): void {
    const f = this.pop.flags[this.ci] as number;
    this.pop.flags[this.ci] = on ? f | bit : f & ~bit;
  }

  protected allows(bit: number, whenUnset: boolean): boolean {
    return this.flag(F_CONSENT_SET) ? ((this.pop.consent[this.ci] as number) & bit) !== 0 : whenUnset;
  }

  protected pickDevice(prefer: 'web' | 'mobile' | null): number {
    const devices = this.c.devices;
    let total = 0;
    const ok = (d: Device): boolean => prefer === null || (prefer === 'web' ? d.app === null : d.kind === 'mobileWeb' || d.app !== null);
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

  /** A reminder e-mail some hours after a logged-in customer left a cart. */
  protected cartReminder(productName: string): void {
    const { e, rng, c } = this;
    const ext: ExternalId[] = [{ id: c.email, type: 'email', collection: 'users', encoding: 'none' }];
    const base = { email_id: rng.uuid(), campaign_id: 'cmp_cart_reminder', campaign_name: 'Cart Reminder' };
    const clicked = rng.chance(0.3);
    e.later(e.t + rng.int(1, 20) * 3_600_000 + rng.int(0, 3_599_999), () => {
      e.serverTrack(
        'Email Opened',
        { ...base, email_subject: `Still thinking about the ${productName}?` },
        { userId: c.userId },
        null,
        ext,
      );
      if (!clicked) return;
      e.wait(30_000, 2000);
      e.serverTrack(
        'Email Link Clicked',
        { ...base, link_id: 'cart', url: 'https://shop.northwind.example/cart' },
        { userId: c.userId },
        null,
        ext,
      );
    });
  }

  // ---- identity ----

  protected traits(full: boolean): Record<string, unknown> {
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

  /** A group call tying the customer to their company account (B2B customers only). */
  protected groupCall(): void {
    const { e, c, pop, ci } = this;
    const a = c.account;
    if (a === null) return;
    e.wait(300, 20);
    e.group(a.id, {
      name: a.name,
      industry: a.industry,
      employees: a.employees,
      plan: PLANS[Math.max(2, pop.plan[ci] as number)],
      website: a.website,
    });
    this.setFlag(F_GROUPED);
  }

  /** Record the account: created now for a sign-up, or before the demo for an existing member. */
  protected markRegistered(): void {
    const { pop, ci, c } = this;
    pop.createdAt[ci] = c.preexistingCreatedAt || Math.floor(this.e.t / 1000);
    pop.plan[ci] = c.initialPlan;
    this.setFlag(F_REGISTERED);
  }

  /** Sign up or sign in on the current device when this customer would; returns whether the device is now logged in. */
  protected maybeLogIn(bit: number, atCheckout: boolean): boolean {
    const { e, rng, c, pop, ci } = this;
    const app = e.device?.app != null;
    const registered = this.flag(F_REGISTERED);
    if (!registered) {
      if (!c.willRegister || (!atCheckout && ((pop.sessions[ci] as number) + 1 < c.registerAfter || !rng.chance(0.55)))) return false;
    } else if (!atCheckout && !rng.chance(0.35)) return false;
    const signUp = !registered && c.preexistingCreatedAt === 0;
    if (!app)
      e.page(
        signUp ? 'Sign Up' : 'Login',
        signUp ? '/account/register' : '/account/login',
        signUp ? 'Create account | Northwind' : 'Sign in | Northwind',
      );
    e.wait(25_000, 3000);
    if (!registered) this.markRegistered();
    pop.devLoggedIn[ci] = (pop.devLoggedIn[ci] as number) | bit;
    e.userId = c.userId;
    if (app && !registered && rng.chance(0.5)) e.alias((e.device as Device).anonymousId, c.userId);
    else if (!app && !registered && rng.chance(0.03)) e.alias((e.device as Device).anonymousId, c.userId);
    e.wait(150, 5);
    e.identify(this.traits(!registered || rng.chance(0.5)));
    e.wait(150, 5);
    e.track(signUp ? 'Signed Up' : 'Signed In', { method: rng.chance(0.8) ? 'email' : rng.pick(['google', 'apple']) });
    if (c.account !== null && (!this.flag(F_GROUPED) || rng.chance(0.15))) this.groupCall();
    return true;
  }

  protected consentChoice(previous: number | null): void {
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

  protected emailTouch(): void {
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
    e.serverTrack(
      'Email Link Clicked',
      { ...base, link_id: rng.hex(8), url: 'https://shop.northwind.example/collections/new' },
      ids,
      null,
      ext,
    );
    if (!rng.chance(0.8)) return;
    e.wait(2500, 300);
    this.browse({ url: '', campaign: { name: name.toLowerCase().replace(/ /g, '_'), source: 'newsletter', medium: 'email' } }, 'web');
  }

  protected smsTouch(): void {
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
    this.browse(
      { url: '', campaign: { name: base.campaign_name.toLowerCase().replace(/ /g, '_'), source: 'sms', medium: 'sms' } },
      'mobile',
    );
  }

  /** An NPS answer; `bias` shifts the score (a refunded order makes a detractor likelier). */
  protected survey(bias: number): void {
    const { e, rng, c } = this;
    const score = Math.max(0, Math.min(10, Math.round(rng.normal(3.5 + 7 * c.satisfaction + bias, 1.4))));
    const props: Record<string, unknown> = { survey_id: 'nps', survey_name: 'Net Promoter Score', question: NPS_QUESTION, score };
    const comment = rng.pick(NPS_COMMENTS);
    if (comment !== '') props.comment = comment;
    e.serverTrack('Survey Answered', props, { userId: c.userId });
  }

  protected accountUpdate(): void {
    const { e, rng, c, pop, ci } = this;
    const plan = pop.plan[ci] as number;
    const next = rng.chance(0.7) ? Math.min(3, plan + 1) : Math.max(0, plan - 1);
    pop.plan[ci] = next;
    e.serverIdentify(c.userId, { email: c.email, plan: PLANS[next], plan_changed_at: new Date(e.t).toISOString() });
  }
}
