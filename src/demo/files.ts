/**
 * Import files for the demo: a CRM contact export and an offline (point-of-sale) purchase export,
 * as CSV (RFC 4180 quoting, `\n` line ends, a header row). Both are deterministic functions of the
 * seed and describe the same customers as `generateDemo` with the same seed and event count, with the
 * mess real exports have: e-mail case variants and stray spaces, phone numbers in several formats,
 * blank cells. Rows can be streamed (`…Lines`) or joined into one text (`…Csv`).
 */
import { cents } from './catalog.ts';
import { REGIONS } from './data.ts';
import { populationSize } from './generator.ts';
import { Population, type Customer } from './population.ts';
import { hashInts, Random } from './random.ts';

export interface DemoFileOptions {
  /** The event count of the `generateDemo` run these files belong to (default: 10 × count). */
  events?: number;
  /** Start of the period purchases fall in (default 2025-01-01T00:00:00Z). */
  start?: Date;
  /** Length of that period in days (default 30). */
  days?: number;
}

const DEFAULT_START = Date.UTC(2025, 0, 1);

/** One CSV field, quoted when it holds a comma, quote, line break or leading/trailing space. */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const s = String(value);
  if (/[",\r\n]/.test(s) || s.trim() !== s) return `"${s.replaceAll('"', '""')}"`;
  return s;
}

export function csvRow(values: ReadonlyArray<string | number | null | undefined>): string {
  return values.map(csvField).join(',');
}

function messyEmail(email: string, rng: Random): string {
  const x = rng.next();
  if (x < 0.8) return email;
  if (x < 0.9) return email.charAt(0).toUpperCase() + email.slice(1);
  if (x < 0.96) return email.toUpperCase();
  return ` ${email} `;
}

function phoneCell(c: Customer, rng: Random): string {
  if (c.phone === null) return '';
  const x = rng.next();
  return x < 0.4 ? c.phone.e164 : x < 0.8 ? c.phone.national : c.phone.other;
}

function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

const SHARES = REGIONS.map((r) => r.share);

/** A customer index drawn like the event stream draws them (region by share, then the activity tail). */
function drawIndex(pop: Population, rng: Random): number {
  let u = rng.next();
  let region = 0;
  while (region < SHARES.length - 1 && u >= (SHARES[region] as number)) u -= SHARES[region++] as number;
  return pop.pickIndex(region, rng.next());
}

/**
 * Distinct customers in order of activity-weighted sampling, so the contacts most likely to show up
 * in the event stream come first. Only customers whose account predates the demo when `existingOnly`.
 */
function* customersByActivity(pop: Population, rng: Random, existingOnly: boolean): Generator<Customer> {
  const seen = new Set<number>();
  let misses = 0;
  while (seen.size < pop.size && misses < 50) {
    const index = drawIndex(pop, rng);
    if (seen.has(index)) {
      misses++;
      continue;
    }
    misses = 0;
    seen.add(index);
    const c = pop.customer(index);
    if (!existingOnly || c.preexistingCreatedAt > 0) yield c;
  }
  // The heavy tail is exhausted: walk the rest in index order.
  for (let index = 0; index < pop.size; index++) {
    if (seen.has(index)) continue;
    const c = pop.customer(index);
    if (!existingOnly || c.preexistingCreatedAt > 0) yield c;
  }
}

export const CRM_COLUMNS = ['email', 'phone', 'first_name', 'last_name', 'company', 'created_at'] as const;

/**
 * CRM contacts, header first: customers whose account predates the demo (their `created_at` matches
 * the `createdAt` trait the events carry), most active first; then, when `count` asks for more, leads
 * who never appear in the events.
 */
export function* crmContactLines(seed: number, count: number, options: DemoFileOptions = {}): Generator<string, void, undefined> {
  seed = Math.floor(seed) >>> 0;
  const size = populationSize(options.events ?? count * 10);
  const pop = new Population(seed, size);
  const rng = new Random(seed, 0xc3a);
  yield csvRow(CRM_COLUMNS);
  let n = 0;
  const row = (c: Customer): string => {
    const createdMs =
      c.preexistingCreatedAt > 0
        ? c.preexistingCreatedAt * 1000
        : Date.UTC(2023, 0, 1) + (hashInts(seed, c.index, 0xc7) % 900) * 86_400_000 + rng.int(0, 86_399) * 1000;
    let first: string = c.firstName;
    if (rng.chance(0.01)) first = `${first} "${first.slice(0, 3)}"`;
    const company = c.account === null ? '' : rng.chance(0.3) ? `${c.account.name.replace(/ (Inc\.|Ltd|GmbH)$/, ', $1')}` : c.account.name;
    return csvRow([
      messyEmail(c.email, rng),
      phoneCell(c, rng),
      first,
      rng.chance(0.02) ? c.lastName.toUpperCase() : c.lastName,
      company,
      isoSeconds(createdMs),
    ]);
  };
  for (const c of customersByActivity(pop, rng, true)) {
    if (n >= count) return;
    yield row(c);
    n++;
  }
  // More contacts than existing customers: leads who never visit. Their indices lie beyond the demo's
  // population, so their e-mail addresses and phone numbers never collide with a customer's.
  const leads = new Population(seed ^ 0x1ead, size + count);
  for (let index = size; n < count; index++, n++) yield row(leads.customer(index));
}

export function crmContactsCsv(seed: number, count: number, options: DemoFileOptions = {}): string {
  return [...crmContactLines(seed, count, options)].join('\n') + '\n';
}

export const PURCHASE_COLUMNS = ['email', 'order_id', 'revenue', 'currency', 'store', 'purchased_at'] as const;

const STORES: Record<string, readonly string[]> = {
  US: ['Northwind Portland', 'Northwind Denver', 'Northwind Brooklyn', 'Northwind Austin'],
  CA: ['Northwind Vancouver', 'Northwind Toronto'],
  GB: ['Northwind London Covent Garden', 'Northwind Manchester'],
  DE: ['Northwind Berlin Mitte', 'Northwind München'],
  FR: ['Northwind Paris Marais'],
  NL: ['Northwind Amsterdam'],
  ES: ['Northwind Madrid'],
  AU: ['Northwind Sydney', 'Northwind Melbourne'],
  NZ: ['Northwind Auckland'],
  SG: ['Northwind Singapore Orchard'],
};

/** Offline purchases in time order, header first; repeat buyers follow the same activity tail as the events. */
export function* offlinePurchaseLines(seed: number, count: number, options: DemoFileOptions = {}): Generator<string, void, undefined> {
  seed = Math.floor(seed) >>> 0;
  const pop = new Population(seed, populationSize(options.events ?? count * 10));
  const rng = new Random(seed, 0x905);
  const start = options.start?.getTime() ?? DEFAULT_START;
  const span = (options.days ?? 30) * 86_400_000;
  yield csvRow(PURCHASE_COLUMNS);
  for (let k = 0; k < count; k++) {
    const t = start + Math.floor(((k + rng.next()) / count) * span);
    const c = pop.customer(drawIndex(pop, rng));
    const stores = STORES[c.country.code] ?? ['Northwind Online Pickup'];
    const store = rng.pick(stores);
    const revenue = cents(Math.max(4.99, rng.logNormal(55, 0.7)) * c.country.fx);
    const email = rng.chance(0.03) ? '' : messyEmail(c.email, rng);
    const orderId = `POS-${c.country.code}-${String(700_000 + k)}`;
    yield csvRow([email, orderId, revenue.toFixed(2), c.country.currency, store, isoSeconds(t)]);
  }
}

export function offlinePurchasesCsv(seed: number, count: number, options: DemoFileOptions = {}): string {
  return [...offlinePurchaseLines(seed, count, options)].join('\n') + '\n';
}
