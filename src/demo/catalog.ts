/** The demo store's product catalogue, derived from the seed; popularity is Zipf-like. */
import { ADJECTIVES, CATEGORIES, type Category } from './data.ts';
import { Random } from './random.ts';

export interface Product {
  id: string;
  sku: string;
  name: string;
  slug: string;
  category: Category;
  /** List price in USD. */
  priceUsd: number;
}

export class Catalog {
  readonly products: Product[] = [];

  constructor(seed: number, size = 320) {
    const rng = new Random(seed, 0xca7a1);
    const seen = new Set<string>();
    for (let i = 0; this.products.length < size && i < size * 20; i++) {
      const category = rng.pick(CATEGORIES);
      const name = `${rng.pick(ADJECTIVES)} ${rng.pick(category.nouns)}`;
      const variant = seen.has(name) ? ` ${rng.pick(['II', 'Pro', 'Lite', 'Plus', 'Max', 'Mini'])}` : '';
      const full = name + variant;
      if (seen.has(full)) continue;
      seen.add(full);
      const n = this.products.length;
      const raw = rng.logNormal(category.median, 0.45);
      const priceUsd = Math.max(4.99, Math.round(raw) - 0.01);
      this.products.push({
        id: `prod_${(10000 + n * 37).toString(36)}`,
        sku: `NW-${category.slug.slice(0, 3).toUpperCase()}-${String(1000 + n)}`,
        name: full,
        slug: full.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
        category,
        priceUsd,
      });
    }
  }

  /** A product by popularity rank (rank 0 is the best seller). */
  pick(rng: Random): Product {
    return this.products[rng.zipf(this.products.length, 1.05)] as Product;
  }
}

/** A price converted to a local currency and rounded like a shop would (…9.99 style, two decimals). */
export function localPrice(priceUsd: number, fx: number): number {
  if (fx === 1) return priceUsd;
  return Math.max(0.99, Math.round(priceUsd * fx) - 0.01);
}

export function cents(x: number): number {
  return Math.round(x * 100) / 100;
}
