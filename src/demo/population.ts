/**
 * The customer population: who exists (static attributes derived from a hash of (seed, index), so a
 * customer is the same whenever they show up) and what has happened to them so far (compact typed
 * arrays, a few bytes per customer). Activity is heavy-tailed: each customer has a Pareto weight.
 */
import {
  COMPANY_SUFFIX,
  COMPANY_WORDS_A,
  COMPANY_WORDS_B,
  FIRST_NAMES,
  INDUSTRIES,
  LAST_NAMES,
  REGIONS,
  type Country,
  type Region,
} from './data.ts';
import { APP_DEVICES, WEB_DEVICES, type AppDevice, type WebDevice } from './devices.ts';
import { hashInts, Random, WeightedTable } from './random.ts';

export type DeviceKind = 'desktop' | 'mobileWeb' | 'tablet' | 'ios' | 'android';

export interface Device {
  kind: DeviceKind;
  anonymousId: string;
  ip: string;
  web: WebDevice | null;
  app: AppDevice | null;
  /** Stable device id (app installs only). */
  deviceId: string;
  advertisingId: string | null;
  adTrackingEnabled: boolean;
  /** Relative share of this customer's sessions on this device. */
  weight: number;
}

export interface Account {
  id: string;
  name: string;
  industry: string;
  employees: number;
  website: string;
}

export interface Customer {
  index: number;
  userId: string;
  region: Region;
  country: Country;
  locale: string;
  timezone: string;
  firstName: string;
  lastName: string;
  /** Canonical lowercase address; identify calls sometimes send case variants. */
  email: string;
  phone: { e164: string; national: string; other: string } | null;
  devices: Device[];
  devicesTotal: number;
  /** Never logs in when false (a pure anonymous visitor). */
  willRegister: boolean;
  /** Registers on roughly this session number. */
  registerAfter: number;
  account: Account | null;
  initialPlan: number;
  /** Account created before the demo window (seconds since epoch), or 0 for new sign-ups. */
  preexistingCreatedAt: number;
  /** Mean number of actions per browsing session. */
  engagement: number;
  /** 0–1: likelihood of a good experience (drives NPS). */
  satisfaction: number;
  /** A big spender: fills carts more often, with pricier products, and checks out more (likelier among the most active). */
  vip: boolean;
}

/** Bits in `flags`. */
export const F_REGISTERED = 1;
export const F_CONSENT_SET = 2;
export const F_GROUPED = 4;
export const F_ORDERED = 8;

/** Bits in `consent`. */
export const C_ANALYTICS = 1;
export const C_ADVERTISING = 2;
export const C_EMAIL = 4;
export const C_SMS = 8;

const DEVICE_COUNT = new WeightedTable<number>([
  [1, 0.55],
  [2, 0.3],
  [3, 0.15],
]);
const PRIMARY_KIND = new WeightedTable<DeviceKind>([
  ['desktop', 0.5],
  ['mobileWeb', 0.3],
  ['ios', 0.12],
  ['android', 0.08],
]);
const SECONDARY_KIND = new WeightedTable<DeviceKind>([
  ['mobileWeb', 0.35],
  ['ios', 0.25],
  ['android', 0.15],
  ['tablet', 0.1],
  ['desktop', 0.15],
]);
const PLAN_WEIGHTS = new WeightedTable<number>([
  [0, 0.55],
  [1, 0.22],
  [2, 0.17],
  [3, 0.06],
]);

// Activity weight by rank (see `Population.pickIndex`): Pareto shape α, cap, and the constants of its cumulative.
const TAIL_ALPHA = 1.6;
const TAIL_CAP = 150;
const TAIL_E = 1 - 1 / TAIL_ALPHA;
const TAIL_XC = Math.pow(TAIL_CAP, -TAIL_ALPHA);
const TAIL_XC_E = Math.pow(TAIL_XC, TAIL_E);
const TAIL_HEAD = TAIL_CAP * TAIL_XC;
const TAIL_TOTAL = TAIL_HEAD + (1 - TAIL_XC_E) / TAIL_E;

/** Bijective scramble of a 32-bit index (odd multiplier, xor-shift), for ids that look random but never collide. */
function scramble(i: number): number {
  let x = Math.imul(i ^ 0x5bd1e995, 0x2c1b3c6d) >>> 0;
  x ^= x >>> 15;
  return Math.imul(x, 0x297a2d39) >>> 0;
}

const slugCache = new Map<string, string>();

/** Lowercase ASCII letters only ("Müller" → "muller"), for e-mail addresses and domains. */
function slug(s: string): string {
  let v = slugCache.get(s);
  if (v !== undefined) return v;
  v = s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z]/g, '');
  if (slugCache.size < 10_000) slugCache.set(s, v);
  return v;
}

function phoneFor(country: Country, index: number, rng: Random): Customer['phone'] {
  // A 7-digit tail unique per customer (bijection on [0, 10^7)) keeps phone numbers from colliding.
  const tail = String((index * 7919 + 1234567) % 10_000_000).padStart(7, '0');
  const t3 = tail.slice(0, 3);
  const t4 = tail.slice(3);
  switch (country.phone) {
    case 'nanp': {
      const area = rng.pick(['212', '312', '415', '512', '617', '206', '303', '404', '646', '702', '713', '416', '604']);
      const exch = String(200 + (Number(t3) % 800));
      return { e164: `+1${area}${exch}${t4}`, national: `(${area}) ${exch}-${t4}`, other: `${area}-${exch}-${t4}` };
    }
    case 'gb': {
      const n = `7${rng.digits(2)}${tail}`;
      return { e164: `+44${n}`, national: `0${n.slice(0, 4)} ${n.slice(4)}`, other: `+44 ${n.slice(0, 4)} ${n.slice(4)}` };
    }
    case 'de': {
      const n = `151${rng.digits(1)}${tail}`;
      return { e164: `+49${n}`, national: `0${n.slice(0, 3)} ${n.slice(3)}`, other: `+49 ${n.slice(0, 3)} ${n.slice(3)}` };
    }
    case 'fr': {
      const n = `${rng.pick(['6', '7'])}${rng.digits(1)}${tail}`;
      return { e164: `+33${n}`, national: `0${n}`.replace(/(\d{2})(?=\d)/g, '$1 '), other: `+33 ${n}` };
    }
    case 'nl': {
      const n = `6${rng.digits(1)}${tail}`;
      return { e164: `+31${n}`, national: `06 ${n.slice(1)}`, other: `+31 6 ${n.slice(1)}` };
    }
    case 'es': {
      const n = `6${rng.digits(1)}${tail}`;
      return { e164: `+34${n}`, national: `${n.slice(0, 3)} ${n.slice(3, 5)} ${n.slice(5, 7)} ${n.slice(7)}`, other: `+34 ${n}` };
    }
    case 'au': {
      const n = `4${rng.digits(1)}${tail}`;
      return { e164: `+61${n}`, national: `0${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`, other: `+61 ${n}` };
    }
    case 'nz':
      return { e164: `+6421${tail}`, national: `021 ${t3} ${t4}`, other: `+64 21 ${tail}` };
    case 'sg': {
      const n = `${rng.pick(['8', '9'])}${tail}`;
      return { e164: `+65${n}`, national: `${n.slice(0, 4)} ${n.slice(4)}`, other: `+65 ${n}` };
    }
  }
}

function ipFor(country: Country, mobile: boolean, rng: Random): string {
  if (mobile && rng.chance(0.2)) return `2600:1700:${rng.hex(4)}:${rng.hex(4)}::${rng.hex(3)}`;
  const prefix = rng.pick(country.ipPrefixes);
  const parts = prefix.split('.').length;
  let ip = prefix;
  for (let i = parts; i < 4; i++) ip += `.${rng.int(1, 254)}`;
  return ip;
}

export class Population {
  readonly size: number;
  readonly accounts: number;
  /** Customers of region r occupy [regionStart[r], regionStart[r+1]). */
  private readonly regionStart: number[];
  readonly flags: Uint8Array;
  readonly consent: Uint8Array;
  readonly plan: Uint8Array;
  readonly devLoggedIn: Uint8Array;
  readonly devSeen: Uint8Array;
  /** Sessions so far (saturates at 255). */
  readonly sessions: Uint8Array;
  readonly createdAt: Uint32Array;
  private readonly rng = new Random(0);
  private readonly accountRng = new Random(0);
  private readonly cache = new Map<number, Customer>();

  constructor(
    private readonly seed: number,
    size: number,
  ) {
    this.size = Math.max(20, Math.floor(size));
    this.accounts = Math.max(3, Math.floor(this.size / 40));
    this.regionStart = [0];
    let acc = 0;
    for (const r of REGIONS) {
      acc += r.share;
      this.regionStart.push(Math.round(acc * this.size));
    }
    this.regionStart[REGIONS.length] = this.size;
    this.flags = new Uint8Array(this.size);
    this.consent = new Uint8Array(this.size);
    this.plan = new Uint8Array(this.size);
    this.devLoggedIn = new Uint8Array(this.size);
    this.devSeen = new Uint8Array(this.size);
    this.sessions = new Uint8Array(this.size);
    this.createdAt = new Uint32Array(this.size);
  }

  /**
   * A customer of region `r`, drawn in proportion to a heavy-tailed activity weight, in O(1) with no
   * table: the customer at relative rank x ∈ (0, 1] weighs min(CAP, x^(-1/α)) (the quantile function of
   * a Pareto(α) population, capped so one customer never dominates a small demo); `u` is inverted
   * through the closed-form cumulative weight.
   */
  pickIndex(r: number, u: number): number {
    const lo = this.regionStart[r] as number;
    const n = (this.regionStart[r + 1] as number) - lo;
    const target = u * TAIL_TOTAL;
    const x = target <= TAIL_HEAD ? target / TAIL_CAP : Math.pow((target - TAIL_HEAD) * TAIL_E + TAIL_XC_E, 1 / TAIL_E);
    return lo + Math.min(n - 1, Math.floor(x * n));
  }

  /** The activity weight of a customer (1 for the least active, up to the cap). */
  activityWeight(index: number): number {
    const r = this.regionOf(index);
    const lo = this.regionStart[r] as number;
    const n = (this.regionStart[r + 1] as number) - lo;
    const x = (index - lo + 0.5) / n;
    return Math.min(TAIL_CAP, Math.pow(x, -1 / TAIL_ALPHA));
  }

  regionOf(index: number): number {
    let r = 0;
    while (r < REGIONS.length - 1 && index >= (this.regionStart[r + 1] as number)) r++;
    return r;
  }

  customer(index: number): Customer {
    const hit = this.cache.get(index);
    if (hit !== undefined) return hit;
    if (this.cache.size >= 2048) this.cache.clear();
    const c = this.derive(index);
    this.cache.set(index, c);
    return c;
  }

  account(a: number): Account {
    const rng = this.accountRng.reseed(this.seed, 0xacc0000 + a);
    const name = `${rng.pick(COMPANY_WORDS_A)}${rng.pick(COMPANY_WORDS_B).toLowerCase()} ${rng.pick(COMPANY_SUFFIX)}`;
    const domain = `${slug(name.split(' ')[0] ?? 'acme')}${a}.example`;
    return {
      id: `acct_${scramble(a + 0x10000).toString(36)}`,
      name,
      industry: rng.pick(INDUSTRIES),
      employees: Math.round(rng.pareto(8, 0.9)),
      website: `https://${domain}`,
    };
  }

  private derive(index: number): Customer {
    const rng = this.rng.reseed(hashInts(this.seed, index, 0xc057), 1);
    const regionIdx = this.regionOf(index);
    const region = REGIONS[regionIdx] as Region;
    const country = rng.weighted(region.countries);
    const firstName = rng.pick(FIRST_NAMES);
    const lastName = rng.pick(LAST_NAMES);
    const f = slug(firstName);
    const l = slug(lastName);
    const account = rng.chance(0.15) ? this.account(rng.int(0, this.accounts - 1)) : null;
    const pattern = rng.int(0, 4);
    const local =
      pattern === 0
        ? `${f}.${l}${index}`
        : pattern === 1
          ? `${f}${l}${index}`
          : pattern === 2
            ? `${f.slice(0, 1)}${l}${index}`
            : pattern === 3
              ? `${f}_${l}.${index}`
              : `${l}.${f}${index}`;
    const domain = account !== null ? account.website.slice(8) : rng.pick(country.emailDomains);
    const devicesTotal = rng.weighted(DEVICE_COUNT);
    const devices: Device[] = [];
    for (let d = 0; d < devicesTotal; d++) {
      let kind = rng.weighted(d === 0 ? PRIMARY_KIND : SECONDARY_KIND);
      if (d > 0 && devices.some((x) => x.kind === kind)) kind = kind === 'desktop' ? 'mobileWeb' : 'desktop';
      const app = kind === 'ios' || kind === 'android' ? pickApp(rng, kind) : null;
      const web = app === null ? rng.weighted(WEB_DEVICES[kind as WebDevice['kind']]) : null;
      const adTracking = app !== null && rng.chance(app.type === 'ios' ? 0.3 : 0.85);
      devices.push({
        kind,
        anonymousId: rng.uuid(kind === 'ios'),
        ip: ipFor(country, kind !== 'desktop', rng),
        web,
        app,
        deviceId: app === null ? '' : app.type === 'ios' ? rng.uuid(true) : rng.hex(16),
        advertisingId: adTracking ? rng.uuid(app?.type === 'ios') : null,
        adTrackingEnabled: adTracking,
        weight: d === 0 ? 1 : rng.float(0.2, 0.8),
      });
    }
    const existing = rng.chance(0.35);
    return {
      index,
      userId: `usr_${scramble(index).toString(36).padStart(7, '0')}`,
      region,
      country,
      locale: rng.pick(country.locales),
      timezone: rng.pick(country.timezones),
      firstName,
      lastName,
      email: `${local}@${domain}`,
      phone: rng.chance(0.6) ? phoneFor(country, index, rng) : null,
      devices,
      devicesTotal,
      willRegister: existing || rng.chance(0.55),
      registerAfter: existing ? 1 : 1 + rng.geometric(0.45),
      account,
      initialPlan: account !== null ? Math.min(3, rng.weighted(PLAN_WEIGHTS) + 1) : rng.weighted(PLAN_WEIGHTS),
      preexistingCreatedAt: existing ? 1_600_000_000 + rng.int(0, 130_000_000) : 0,
      engagement: rng.logNormal(4, 0.5),
      satisfaction: rng.next(),
      vip: rng.chance(Math.min(0.5, 0.04 * Math.sqrt(this.activityWeight(index)))),
    };
  }
}

function pickApp(rng: Random, kind: 'ios' | 'android'): AppDevice {
  for (let i = 0; i < 20; i++) {
    const d = rng.weighted(APP_DEVICES);
    if (d.type === kind) return d;
  }
  return APP_DEVICES.items.find((d) => d.type === kind) as AppDevice;
}
