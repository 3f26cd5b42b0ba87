/** The demo's seeded PRNG and samplers: deterministic, in range, with the intended shapes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { hashInts, mix32, Random, WeightedTable } from '../../src/demo/random.ts';

const draws = (rng: Random, n: number, f: (r: Random) => number): number[] => Array.from({ length: n }, () => f(rng));
const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

describe('Random', () => {
  it('is a pure function of (seed, stream)', () => {
    assert.deepEqual(
      draws(new Random(7), 100, (r) => r.u32()),
      draws(new Random(7), 100, (r) => r.u32()),
    );
    assert.notDeepEqual(
      draws(new Random(7), 100, (r) => r.u32()),
      draws(new Random(8), 100, (r) => r.u32()),
    );
    assert.notDeepEqual(
      draws(new Random(7, 1), 100, (r) => r.u32()),
      draws(new Random(7, 2), 100, (r) => r.u32()),
    );
    const r = new Random(1);
    const first = draws(r, 10, (x) => x.u32());
    r.reseed(1);
    assert.deepEqual(
      draws(r, 10, (x) => x.u32()),
      first,
    );
  });

  it('stays in range for any seed', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 0, max: 1000 }), (seed, lo, width) => {
        const r = new Random(seed);
        for (let i = 0; i < 20; i++) {
          const u = r.next();
          assert.ok(u >= 0 && u < 1);
          const k = r.int(lo, lo + width);
          assert.ok(Number.isInteger(k) && k >= lo && k <= lo + width);
          const z = r.zipf(width + 1, 1.1);
          assert.ok(Number.isInteger(z) && z >= 0 && z <= width);
          assert.ok(r.pareto(2, 1.5) >= 2);
          assert.ok(r.exponential(3) >= 0);
        }
      }),
    );
  });

  it('uniform, normal and exponential have the right moments', () => {
    const r = new Random(99);
    const u = draws(r, 50_000, (x) => x.next());
    assert.ok(Math.abs(mean(u) - 0.5) < 0.01);
    const n = draws(r, 50_000, (x) => x.normal(10, 2));
    const m = mean(n);
    const sd = Math.sqrt(mean(n.map((x) => (x - m) ** 2)));
    assert.ok(Math.abs(m - 10) < 0.05 && Math.abs(sd - 2) < 0.05, `${m} ${sd}`);
    assert.ok(Math.abs(mean(draws(r, 50_000, (x) => x.exponential(4))) - 4) < 0.1);
    assert.ok(Math.abs(mean(draws(r, 50_000, (x) => x.geometric(0.25))) - 3) < 0.1);
  });

  it('pareto and zipf are heavy-tailed', () => {
    const r = new Random(5);
    const p = draws(r, 20_000, (x) => x.pareto(1, 1.2)).sort((a, b) => b - a);
    const top = p.slice(0, 2000).reduce((s, x) => s + x, 0) / p.reduce((s, x) => s + x, 0);
    assert.ok(top > 0.4, `top decile holds ${top}`);
    const ranks = new Array<number>(100).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const k = r.zipf(100, 1.1);
      ranks[k] = (ranks[k] ?? 0) + 1;
    }
    assert.ok((ranks[0] as number) > 5 * (ranks[50] as number));
  });

  it('picks by weight', () => {
    const table = new WeightedTable([
      ['a', 1],
      ['b', 3],
      ['c', 0],
    ] as const);
    const r = new Random(3);
    const seen = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 40_000; i++) seen[r.weighted(table)]++;
    assert.equal(seen.c, 0);
    assert.ok(Math.abs(seen.b / seen.a - 3) < 0.2, JSON.stringify(seen));
    assert.throws(() => new WeightedTable([]));
    assert.throws(() => new WeightedTable([['x', -1]]));
    assert.throws(() => new Random(1).pick([]));
  });

  it('makes UUID v4-shaped ids, lower or upper case', () => {
    const r = new Random(12);
    const ids = draws(r, 1000, () => 0).map(() => r.uuid());
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(new Set(ids).size, ids.length);
    assert.match(r.uuid(true), /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    assert.match(r.hex(32), /^[0-9a-f]{32}$/);
    assert.match(r.digits(5), /^\d{5}$/);
  });

  it('hashes integers with good spread', () => {
    assert.equal(mix32(1), mix32(1));
    assert.notEqual(hashInts(1, 2), hashInts(2, 1));
    const buckets = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) {
      const b = hashInts(42, i) & 15;
      buckets[b] = (buckets[b] ?? 0) + 1;
    }
    assert.ok(
      buckets.every((b) => b > 850 && b < 1150),
      buckets.join(' '),
    );
  });
});
